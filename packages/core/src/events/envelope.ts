import { z } from 'zod';
import type { SubjectIdentifier } from '../subjects/subject-identifier.js';
import type { EventDataMap, EventType } from './catalogue/index.js';
import { encodeSubjectAttribute, readSubjectAttribute } from './subject-attribute.js';

/** The context attributes CloudEvents 1.0 defines (§3.1, §3.2); every other attribute is an extension. */
const SPEC_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
  'data',
]);

/** CloudEvents §2 (type system): Integer is a signed 32-bit whole number. */
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };

/**
 * A JSON media type with optional parameters: `application/json`, `application/json; charset=utf-8`,
 * `application/vnd.acme+json` (CloudEvents JSON format §3.1.1: subtype `json` or a `+json` suffix).
 */
const JSON_MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/(?:[a-z0-9!#$&^_.+-]*\+)?json[ \t]*(?:;.*)?$/i;
/** An absolute URI (RFC 3986 §4.3): a scheme, a colon, and no white space. */
const ABSOLUTE_URI = /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]*$/;

/**
 * The first character CloudEvents forbids in a String (§2, type system): control characters (U+0000-U+001F,
 * U+007F-U+009F), lone surrogates, and noncharacters (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF).
 */
function forbiddenCharacter(value: string): string | undefined {
  for (const char of value) {
    const code = char.codePointAt(0)!;
    // Iterating by code point leaves only unpaired surrogates in this range.
    if (code >= 0xd800 && code <= 0xdfff) return `the lone surrogate U+${hex(code)}`;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return `the control character U+${hex(code)}`;
    if ((code >= 0xfdd0 && code <= 0xfdef) || (code & 0xfffe) === 0xfffe) return `the noncharacter U+${hex(code)}`;
  }
  return undefined;
}

const hex = (code: number) => code.toString(16).toUpperCase().padStart(4, '0');

/**
 * `idrelaysubject` as it travels: a String holding the RFC 9493 identifier's JSON in base64url (see
 * {@link encodeSubjectAttribute}). An object, as earlier versions sent it in structured mode, is accepted and
 * encoded, so existing producers keep working; anything else is an issue with the failing path.
 */
const SubjectAttributeSchema = z.unknown().transform((value, ctx): string => {
  if (typeof value === 'string') {
    const decoded = readSubjectAttribute(value);
    if (decoded.ok) return value;
    for (const issue of decoded.issues) {
      ctx.addIssue({
        code: 'custom',
        message: issue.message,
        path: issue.path ? issue.path.split('.') : [],
        input: value,
      });
    }
    return z.NEVER;
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    try {
      return encodeSubjectAttribute(value as SubjectIdentifier);
    } catch (error) {
      const issues = (error as { details?: { issues?: Array<{ path: string; message: string }> } }).details?.issues;
      for (const issue of issues ?? [{ path: '', message: 'not an RFC 9493 subject identifier' }]) {
        ctx.addIssue({
          code: 'custom',
          message: issue.message,
          path: issue.path ? issue.path.split('.') : [],
          input: value,
        });
      }
      return z.NEVER;
    }
  }
  ctx.addIssue({
    code: 'custom',
    message: 'expected an RFC 9493 subject identifier as base64url JSON (a string)',
    input: value,
  });
  return z.NEVER;
});

/** CloudEvents JSON format §2.2: an attribute whose value is `null` is unset. `data: null` is a payload, kept. */
function withoutNullAttributes(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const entries = Object.entries(value);
  if (!entries.some(([name, item]) => item === null && name !== 'data')) return value;
  return Object.fromEntries(entries.filter(([name, item]) => item !== null || name === 'data'));
}

/**
 * The CloudEvents 1.0 context attributes of an identity event (JSON event format; CloudEvents spec §2, §3).
 * Required: `specversion` (exactly `"1.0"`), `id`, `source`, `type`. Optional: `time` (RFC 3339 with an offset),
 * `subject`, `datacontenttype` (a JSON media type, parameters allowed; absent means `application/json`),
 * `dataschema` (an absolute URI), and idrelay's `idrelaysubject`. Attributes set to `null` are unset (JSON format
 * §2.2). Extension attributes are kept, as the spec requires of intermediaries, when their names are lower-case
 * letters and digits and their values are Strings, Booleans or Integers; structured values belong in `data`.
 *
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/formats/json-format.md
 */
export const EnvelopeSchema = z.preprocess(
  withoutNullAttributes,
  z
    .looseObject({
      specversion: z.literal('1.0', { error: 'expected "1.0" (CloudEvents 1.0)' }),
      id: z.string().min(1).max(512),
      /** A URI-reference naming the producer, e.g. `https://iam.example.com/workflows` or `/connectors/ldap`. */
      source: z
        .string()
        .min(1)
        .max(2048)
        .regex(/^[^\s]+$/, 'expected a URI-reference without spaces'),
      type: z.string().min(1).max(256),
      time: z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp with an offset' }).optional(),
      /** The CloudEvents `subject`: what the event is about, within the source (a request id, a user id). */
      subject: z.string().min(1).max(1024).optional(),
      datacontenttype: z
        .string()
        .max(256)
        .regex(JSON_MEDIA_TYPE, 'expected a JSON media type such as application/json; idrelay events carry JSON data')
        .optional(),
      dataschema: z.string().min(1).max(2048).regex(ABSOLUTE_URI, 'expected an absolute URI').optional(),
      /** idrelay extension: the RFC 9493 subject identifier of the person the event concerns, base64url JSON. */
      idrelaysubject: SubjectAttributeSchema.optional(),
      // Optional here (CloudEvents §3.1); each catalogue type's schema says what its data must be.
      data: z.unknown().optional(),
    })
    .superRefine((envelope, ctx) => {
      for (const [name, value] of Object.entries(envelope)) {
        const issue = (message: string) => ctx.addIssue({ code: 'custom', path: [name], message, input: value });
        if (name === 'data') continue;
        if (name === 'data_base64') {
          issue('binary data is not accepted: idrelay events carry JSON in "data"');
          continue;
        }
        // CloudEvents §3.1.1: names are lower-case ASCII letters and digits (20 characters at most is a SHOULD).
        if (!/^[a-z0-9]+$/.test(name)) {
          issue('CloudEvents attribute names are lower-case letters (a-z) and digits (0-9)');
          continue;
        }
        if (typeof value === 'string') {
          const forbidden = forbiddenCharacter(value);
          if (forbidden) issue(`CloudEvents attribute values must not contain ${forbidden}`);
          continue;
        }
        if (SPEC_ATTRIBUTES.has(name) || typeof value === 'boolean') continue;
        if (typeof value === 'number' && Number.isInteger(value) && value >= INT32.min && value <= INT32.max) continue;
        issue(
          typeof value === 'number'
            ? 'a CloudEvents Integer is a whole number from -2147483648 to 2147483647'
            : 'extension attributes are Strings, Integers or Booleans (CloudEvents type system); put structured values in data',
        );
      }
    }),
);

/** CloudEvents extension attributes beyond idrelay's own: String, Integer (32-bit) or Boolean values. */
export type ExtensionAttributes = Record<string, string | number | boolean>;

/**
 * An identity event: a CloudEvents 1.0 event (JSON format) whose `data` is typed by `type`.
 *
 * Narrow on `type` to get the `data` of one event type; read the person it concerns with `eventSubject(event)`:
 * @example
 * ```ts
 * if (event.type === 'idrelay.access.requested') event.data.resource.name;
 * ```
 */
export type IdentityEvent<T extends EventType = EventType> = {
  [K in T]: {
    specversion: '1.0';
    id: string;
    source: string;
    type: K;
    /** When the occurrence happened (RFC 3339); optional in CloudEvents. `createEvent` always sets it. */
    time?: string;
    subject?: string;
    /** A JSON media type, parameters allowed; absent means `application/json`. */
    datacontenttype?: string;
    dataschema?: string;
    /**
     * The RFC 9493 subject identifier of the person concerned, as base64url JSON (the attribute must be a
     * CloudEvents String). Decode it with `eventSubject(event)`.
     */
    idrelaysubject?: string;
    data: EventDataMap[K];
    /** Extension attributes the producer added; forwarded untouched. */
    [extension: string]: unknown;
  };
}[T];
