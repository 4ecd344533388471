import { IdrelayError } from '../errors/idrelay-error.js';
import { canonicalJson } from '../ports/audit.js';
import { type SubjectIdentifier, SubjectIdentifierSchema } from '../subjects/subject-identifier.js';

/** The longest `idrelaysubject` value accepted, in characters (an `aliases` set of 32 long identifiers fits). */
export const SUBJECT_ATTRIBUTE_MAX_LENGTH = 16_384;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Why an `idrelaysubject` value cannot be read, with the path inside the decoded identifier when it has one. */
export interface SubjectAttributeIssue {
  path: string;
  message: string;
}

type Decoded = { ok: true; subject: SubjectIdentifier } | { ok: false; issues: SubjectAttributeIssue[] };

function checkIdentifier(value: unknown): Decoded {
  const parsed = SubjectIdentifierSchema.safeParse(value);
  if (parsed.success) return { ok: true, subject: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  };
}

/**
 * Reads an `idrelaysubject` value without throwing. The value is the RFC 9493 identifier's JSON text in
 * base64url without padding (RFC 4648 §5); any member order decodes, but the base64url text must be the one
 * canonical encoding of its bytes, so one identifier never hides behind two spellings of the same bytes.
 */
export function readSubjectAttribute(value: string): Decoded {
  const fail = (message: string): Decoded => ({ ok: false, issues: [{ path: '', message }] });
  if (value.length === 0 || value.length > SUBJECT_ATTRIBUTE_MAX_LENGTH || !BASE64URL.test(value)) {
    return fail(
      `expected an RFC 9493 subject identifier as base64url JSON (1-${SUBJECT_ATTRIBUTE_MAX_LENGTH} characters of A-Z a-z 0-9 - _, no padding)`,
    );
  }
  const bytes = Buffer.from(value, 'base64url');
  if (bytes.toString('base64url') !== value) return fail('not a canonical base64url encoding (RFC 4648 §3.5)');
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(bytes));
  } catch {
    return fail('the base64url text does not decode to UTF-8 JSON');
  }
  return checkIdentifier(json);
}

/**
 * Encodes an RFC 9493 subject identifier as the value of the `idrelaysubject` CloudEvents extension attribute:
 * its JSON text with members sorted, in base64url without padding. CloudEvents 1.0 allows only primitive
 * extension values (§3.1.1, type system), so the object travels as a String that is safe in an HTTP header (binary
 * mode) and the same for the same identifier, so brokers can filter and partition on it.
 *
 * @throws {IdrelayError} `ERR_SUBJECT_INVALID` with `details.issues` when `subject` is not an identifier.
 * @see https://www.rfc-editor.org/rfc/rfc9493#section-3
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md#type-system
 * @example
 * ```ts
 * encodeSubjectAttribute({ format: 'email', email: 'alice@example.com' });
 * // 'eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ'
 * ```
 */
export function encodeSubjectAttribute(subject: SubjectIdentifier): string {
  const checked = checkIdentifier(subject);
  if (!checked.ok) throw invalidSubject(checked.issues);
  return Buffer.from(canonicalJson(checked.subject), 'utf8').toString('base64url');
}

/**
 * Decodes an `idrelaysubject` value back into its RFC 9493 subject identifier.
 *
 * @throws {IdrelayError} `ERR_SUBJECT_INVALID` when the value is not base64url JSON of an identifier.
 * @example
 * ```ts
 * decodeSubjectAttribute('eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ');
 * // { format: 'email', email: 'alice@example.com' }
 * ```
 */
export function decodeSubjectAttribute(value: string): SubjectIdentifier {
  const decoded = readSubjectAttribute(value);
  if (!decoded.ok) throw invalidSubject(decoded.issues);
  return decoded.subject;
}

/**
 * The RFC 9493 subject identifier of the person an event concerns, decoded from its `idrelaysubject` attribute;
 * `undefined` when the event names none. Events stored before the attribute became a string (an object value)
 * are read too.
 *
 * @throws {IdrelayError} `ERR_SUBJECT_INVALID` when the attribute holds something else (a hand-built event).
 * @example
 * ```ts
 * const subject = eventSubject(event);
 * if (subject?.format === 'email') console.log(subject.email);
 * ```
 */
export function eventSubject(event: { readonly idrelaysubject?: unknown }): SubjectIdentifier | undefined {
  const value = event.idrelaysubject;
  if (value === undefined || value === null) return undefined;
  const decoded = typeof value === 'string' ? readSubjectAttribute(value) : checkIdentifier(value);
  if (!decoded.ok) throw invalidSubject(decoded.issues);
  return decoded.subject;
}

function invalidSubject(issues: SubjectAttributeIssue[]): IdrelayError<'ERR_SUBJECT_INVALID'> {
  const first = issues[0];
  const where = first?.path ? `${first.path}: ` : '';
  return new IdrelayError('ERR_SUBJECT_INVALID', `Not an RFC 9493 subject identifier: ${where}${first?.message}`, {
    details: { issues },
  }) as IdrelayError<'ERR_SUBJECT_INVALID'>;
}
