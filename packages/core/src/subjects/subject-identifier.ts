import { z } from 'zod';

/**
 * Subject identifiers for security events, RFC 9493 §3.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9493#section-3
 */

const nonEmpty = z.string().min(1).max(2048);

/** RFC 9493 §3.2.3 `email`: an addr-spec (RFC 5322 §3.4.1). */
export const EmailSubjectSchema = z.object({
  format: z.literal('email'),
  email: z
    .string()
    .max(320)
    .regex(/^[^\s@]+@[^\s@]+$/, 'expected an email address of the form local@domain'),
});

/** RFC 9493 §3.2.6 `phone_number`: an E.164 number with a leading `+`. */
export const PhoneSubjectSchema = z.object({
  format: z.literal('phone_number'),
  phone_number: z.string().regex(/^\+[1-9][0-9 ().-]{3,24}$/, 'expected an E.164 number such as +12065550100'),
});

/** RFC 9493 §3.2.5 `iss_sub`: an issuer and a subject scoped to it (OIDC ID token `iss` + `sub`). */
export const IssSubSubjectSchema = z.object({ format: z.literal('iss_sub'), iss: nonEmpty, sub: nonEmpty });

/** RFC 9493 §3.2.4 `opaque`: an identifier meaningful only to transmitter and receiver. */
export const OpaqueSubjectSchema = z.object({ format: z.literal('opaque'), id: nonEmpty });

/** RFC 9493 §3.2.1 `account`: an `acct:` URI (RFC 7565). */
export const AccountSubjectSchema = z.object({
  format: z.literal('account'),
  uri: z.string().regex(/^acct:[^\s@]+@[^\s@]+$/i, 'expected an acct: URI such as acct:alice@example.com'),
});

/** RFC 9493 §3.2.7 `did`: a DID URL. */
export const DidSubjectSchema = z.object({
  format: z.literal('did'),
  url: z.string().regex(/^did:[a-z0-9]+:[^\s]+$/, 'expected a DID URL such as did:example:123'),
});

/** RFC 9493 §3.2.8 `uri`: an absolute URI (RFC 3986). */
export const UriSubjectSchema = z.object({
  format: z.literal('uri'),
  uri: z.string().regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$/, 'expected an absolute URI'),
});

const SimpleSubjectSchema = z.discriminatedUnion('format', [
  EmailSubjectSchema,
  PhoneSubjectSchema,
  IssSubSubjectSchema,
  OpaqueSubjectSchema,
  AccountSubjectSchema,
  DidSubjectSchema,
  UriSubjectSchema,
]);

/** RFC 9493 §3.2.2 `aliases`: several identifiers of one subject; nesting `aliases` is not allowed. */
export const AliasesSubjectSchema = z.object({
  format: z.literal('aliases'),
  identifiers: z.array(SimpleSubjectSchema).min(1).max(32),
});

/** Any RFC 9493 subject identifier this package understands. */
export const SubjectIdentifierSchema = z.discriminatedUnion('format', [
  EmailSubjectSchema,
  PhoneSubjectSchema,
  IssSubSubjectSchema,
  OpaqueSubjectSchema,
  AccountSubjectSchema,
  DidSubjectSchema,
  UriSubjectSchema,
  AliasesSubjectSchema,
]);

/** An RFC 9493 subject identifier. */
export type SubjectIdentifier = z.infer<typeof SubjectIdentifierSchema>;
/** A subject identifier that is not an `aliases` set. */
export type SimpleSubjectIdentifier = Exclude<SubjectIdentifier, { format: 'aliases' }>;
/** The identifier formats, `email`, `iss_sub` … */
export type SubjectFormat = SubjectIdentifier['format'];
