/**
 * Renders the documents derived from code. Shared by `scripts/gen-docs.ts` (writes them) and `docs.test.ts`
 * (fails when the committed copies are stale), so the two can never disagree on the format.
 */
import { CORE_ERRORS } from '../src/errors/codes.js';
import { EVENT_CATALOGUE, EVENT_TYPES } from '../src/events/catalogue/index.js';
import { eventJsonSchema } from '../src/events/json-schema.js';

const AREAS: Record<string, string> = {
  ERR_EVENT: 'core',
  ERR_SUBJECT: 'core',
  ERR_AUDIENCE: 'core',
  ERR_INVALID: 'core',
  ERR_TRANSPORT: 'transports (all)',
  ERR_APNS: '@idrelay/transport-apns',
  ERR_FCM: '@idrelay/transport-fcm',
  ERR_WEBPUSH: '@idrelay/transport-webpush',
  ERR_STORE: 'stores',
  ERR_DIRECTORY: 'stores',
  ERR_SSF: '@idrelay/identity-oidc',
  ERR_OIDC: '@idrelay/identity-oidc',
};

function areaOf(code: string): string {
  const prefix = Object.keys(AREAS).find((p) => code.startsWith(p));
  return prefix ? AREAS[prefix]! : '@idrelay/engine';
}

/** `docs/errors.md`. */
export function renderErrorsDoc(): string {
  const rows = Object.entries(CORE_ERRORS).map(
    ([code, { status, retryable, message }]) =>
      `| \`${code}\` | ${status} | ${retryable ? 'yes' : 'no'} | ${areaOf(code)} | ${message} |`,
  );
  return `# Error codes

<!-- Generated from \`CORE_ERRORS\` in packages/core/src/errors/codes.ts by \`pnpm gen\`; a test fails when stale. -->

Every error idrelay throws is an \`IdrelayError\` (or a subclass) with a \`code\` from this table, a \`message\`, an
optional \`details\` object and, when it wraps a foreign error, a \`cause\`. Per-device delivery failures are not
thrown: they come back as results whose \`code\` is one of these and whose \`reason\` carries the push service's own
reason verbatim (\`Unregistered\`, \`messaging/invalid-argument\` …).

Each code carries the HTTP \`status\` a server answers with when the error ends a request — the \`status\` of an
[RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem+json body — and whether a later retry of the same request
may succeed (\`retryable\`: throttling, an outage, a timeout). \`errorInfo(code)\` returns \`{ message, status,
retryable }\`.

\`\`\`ts
import { errorInfo, isIdrelayError } from '@idrelay/core';

try {
  await relay.ingest(body);
} catch (error) {
  if (!isIdrelayError(error)) throw error;
  const { status } = errorInfo(error.code) ?? { status: 500 };
  return Response.json({ status, title: error.message, ...error.toJSON() }, {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}
\`\`\`

A package of your own (a partner's connector) declares its codes to the type system by interface merging and
registers them at run time; \`registerErrorCodes\` refuses to redefine a code that exists with another meaning, status
or retryability:

\`\`\`ts
import { type ErrorInfo, IdrelayError, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_ACME_LDAP_BIND: ErrorInfo;
  }
}
registerErrorCodes({
  ERR_ACME_LDAP_BIND: { status: 502, retryable: true, message: 'The LDAP server refused the bind.' },
});
throw new IdrelayError('ERR_ACME_LDAP_BIND', 'Bind as cn=relay failed');
\`\`\`

| code | status | retryable | raised by | meaning |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

/** `docs/events.md`. */
export function renderEventsDoc(): string {
  const byArea = new Map<string, string[]>();
  for (const type of EVENT_TYPES) {
    const entry = EVENT_CATALOGUE[type];
    const list = byArea.get(entry.area) ?? [];
    list.push(`| \`${type}\` | ${entry.summary} | [schema](events/${type}.json) |`);
    byArea.set(entry.area, list);
  }
  const sections = [...byArea].map(
    ([area, rows]) => `## ${area}\n\n| type | emitted when | JSON Schema |\n|---|---|---|\n${rows.join('\n')}\n`,
  );
  return `# Event catalogue

<!-- Generated from \`EVENT_CATALOGUE\` in packages/core/src/events/catalogue/ by \`pnpm gen\`; a test fails when stale. -->

Every identity event is a [CloudEvents 1.0](https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md)
event in the JSON format, or the same attributes in HTTP binary mode: \`specversion\` (exactly \`1.0\`), \`id\`,
\`source\`, \`type\`, optionally \`time\` (RFC 3339 with an offset), \`subject\`, \`datacontenttype\` (a JSON media
type, parameters allowed; absent means \`application/json\`) and \`dataschema\` (an absolute URI), the
\`idrelaysubject\` extension, and \`data\`, whose shape depends on \`type\`. Events are deduplicated by (\`source\`,
\`id\`): a producer that retries must reuse the id.

\`idrelaysubject\` names the person the event concerns by an [RFC 9493](https://www.rfc-editor.org/rfc/rfc9493)
subject identifier. CloudEvents allows only primitive attribute values, so it is a String: the identifier's JSON with
members sorted, in base64url without padding. \`createEvent()\` encodes it, \`eventSubject(event)\` decodes it, and
rules and templates read \`idrelaysubject.email\`, \`idrelaysubject.format\` … from the decoded object. The value
below is \`{"email":"alice@example.com","format":"email"}\`. An object in its place (as earlier versions sent it) is still
accepted and converted.

\`\`\`json
{
  "specversion": "1.0",
  "id": "req-7781",
  "source": "https://iam.example.com/workflows",
  "type": "idrelay.account.locked",
  "time": "2026-11-23T09:12:00Z",
  "datacontenttype": "application/json",
  "idrelaysubject": "eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ",
  "data": { "userId": "u-42", "reason": "failed-logins", "failedAttempts": 5 }
}
\`\`\`

The same event in binary mode:

\`\`\`http
POST /events HTTP/1.1
content-type: application/json
ce-specversion: 1.0
ce-id: req-7781
ce-source: https://iam.example.com/workflows
ce-type: idrelay.account.locked
ce-time: 2026-11-23T09:12:00Z
ce-idrelaysubject: eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ

{ "userId": "u-42", "reason": "failed-logins", "failedAttempts": 5 }
\`\`\`

Refused with \`ERR_EVENT_INVALID\` and the failing path: another \`specversion\`, an empty \`id\`, \`source\` or \`type\`,
a non-JSON \`datacontenttype\`, \`data_base64\`, attribute names other than lower-case letters and digits, extension
values other than Strings, Booleans and 32-bit Integers (put structured values in \`data\`), and control characters
or noncharacters in attribute values. Attributes set to \`null\` are treated as absent. \`relay.ingest()\` also takes
a \`CloudEvent\` from the official \`cloudevents\` SDK.

${EVENT_TYPES.length} types in ${byArea.size} areas. The TypeScript types and zod schemas live in \`@idrelay/core\`
(\`EVENT_CATALOGUE\`, \`parseEvent\`, \`createEvent\`); unknown fields inside \`data\` and unknown extension attributes
are kept, as CloudEvents asks of intermediaries.

${sections.join('\n')}`;
}

/** `docs/events/<type>.json`, keyed by type. */
export function renderEventSchemas(): Map<string, string> {
  return new Map(EVENT_TYPES.map((type) => [type, `${JSON.stringify(eventJsonSchema(type), null, 2)}\n`]));
}
