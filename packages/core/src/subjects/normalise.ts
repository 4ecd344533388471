import { IdrelayError } from '../errors/idrelay-error.js';
import { type SimpleSubjectIdentifier, type SubjectIdentifier, SubjectIdentifierSchema } from './subject-identifier.js';

/** How two identifiers are compared. */
export interface SubjectMatchOptions {
  /**
   * Compare the local part of email addresses (and `acct:` URIs) case-sensitively. RFC 5321 §2.4 allows a
   * case-sensitive local part, but directories and IdPs almost never issue two mailboxes that differ only in
   * case, and events from different systems often disagree on case. Default `false`.
   */
  caseSensitiveLocalPart?: boolean;
}

/**
 * Validates `input` as an RFC 9493 subject identifier and returns it normalised: email domains lower-cased
 * (and the local part unless `caseSensitiveLocalPart`), phone numbers reduced to `+` and digits, URI schemes and
 * hosts lower-cased, `aliases` flattened and de-duplicated.
 *
 * @throws {IdrelayError} `ERR_SUBJECT_INVALID` with `details.issues` when the input is not a subject identifier.
 * @see https://www.rfc-editor.org/rfc/rfc9493#section-3.2
 */
export function normaliseSubject(input: unknown, options: SubjectMatchOptions = {}): SubjectIdentifier {
  const parsed = SubjectIdentifierSchema.safeParse(input);
  if (!parsed.success) {
    throw new IdrelayError('ERR_SUBJECT_INVALID', 'Not an RFC 9493 subject identifier', {
      details: {
        issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      },
    });
  }
  const subject = parsed.data;
  if (subject.format !== 'aliases') return normaliseSimple(subject, options);
  const seen = new Set<string>();
  const identifiers: SimpleSubjectIdentifier[] = [];
  for (const identifier of subject.identifiers) {
    const normalised = normaliseSimple(identifier, options);
    const key = subjectKey(normalised, options);
    if (!seen.has(key)) {
      seen.add(key);
      identifiers.push(normalised);
    }
  }
  return { format: 'aliases', identifiers };
}

function normaliseSimple(subject: SimpleSubjectIdentifier, options: SubjectMatchOptions): SimpleSubjectIdentifier {
  switch (subject.format) {
    case 'email':
      return { format: 'email', email: normaliseMailbox(subject.email, options) };
    case 'phone_number':
      return { format: 'phone_number', phone_number: `+${subject.phone_number.replace(/\D/g, '')}` };
    case 'account':
      return { format: 'account', uri: `acct:${normaliseMailbox(subject.uri.slice('acct:'.length), options)}` };
    case 'uri':
      return { format: 'uri', uri: normaliseUri(subject.uri) };
    case 'did':
    case 'iss_sub':
    case 'opaque':
      // Case-sensitive by definition: DID method-specific ids, OIDC `iss`/`sub` and opaque ids compare exactly.
      return subject;
  }
}

function normaliseMailbox(address: string, options: SubjectMatchOptions): string {
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1).toLowerCase();
  return `${options.caseSensitiveLocalPart ? local : local.toLowerCase()}@${domain}`;
}

function normaliseUri(uri: string): string {
  // RFC 3986 §6.2.2.1: scheme and host are case-insensitive; everything else compares exactly.
  const colon = uri.indexOf(':');
  const lowered = uri.slice(0, colon).toLowerCase() + uri.slice(colon);
  return lowered.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*@)?([^/?#:]*)/,
    (_match, scheme: string, userInfo: string | undefined, host: string) =>
      `${scheme}${userInfo ?? ''}${host.toLowerCase()}`,
  );
}

/**
 * A canonical string for one simple identifier, such as `email:alice@example.com` or
 * `iss_sub:https://idp.example.com|1234`: use it as an index key. `aliases` have no single key; use
 * {@link subjectKeys}.
 */
export function subjectKey(subject: SimpleSubjectIdentifier, options: SubjectMatchOptions = {}): string {
  const s = normaliseSimple(subject, options);
  switch (s.format) {
    case 'email':
      return `email:${s.email}`;
    case 'phone_number':
      return `phone_number:${s.phone_number}`;
    case 'iss_sub':
      return `iss_sub:${s.iss}|${s.sub}`;
    case 'opaque':
      return `opaque:${s.id}`;
    case 'account':
      return `account:${s.uri}`;
    case 'did':
      return `did:${s.url}`;
    case 'uri':
      return `uri:${s.uri}`;
  }
}

/** Every canonical key of a subject: one for a simple identifier, one per member for `aliases`. */
export function subjectKeys(subject: SubjectIdentifier, options: SubjectMatchOptions = {}): string[] {
  if (subject.format === 'aliases') return [...new Set(subject.identifiers.map((id) => subjectKey(id, options)))];
  return [subjectKey(subject, options)];
}

/**
 * True when `a` and `b` identify the same subject: two simple identifiers match when their canonical keys are
 * equal; an `aliases` set matches anything that matches one of its members (RFC 9493 §3.2.2).
 *
 * @example
 * ```ts
 * subjectsMatch({ format: 'email', email: 'Alice@Example.COM' }, { format: 'aliases', identifiers: [
 *   { format: 'opaque', id: 'u-1' }, { format: 'email', email: 'alice@example.com' },
 * ] }); // true
 * ```
 */
export function subjectsMatch(a: SubjectIdentifier, b: SubjectIdentifier, options: SubjectMatchOptions = {}): boolean {
  const left = new Set(subjectKeys(a, options));
  return subjectKeys(b, options).some((key) => left.has(key));
}
