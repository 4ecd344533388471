/**
 * `@idrelay/core/events`: the identity event model at run time — the CloudEvents 1.0 envelope, the typed
 * catalogue and its JSON Schemas, parsing and creating events, RFC 9493 subject identifiers, audience
 * specifications. Built on zod, which this entry needs installed (an optional peer dependency of `@idrelay/core`):
 * the main entry stays free of it, so a transport's users never install or load a schema library.
 *
 * @packageDocumentation
 */

export { AttributeFilterSchema, type AudienceSpec, AudienceSpecSchema } from './audience/audience-spec.js';
export {
  EVENT_CATALOGUE,
  EVENT_TYPES,
  type EventDataInputMap,
  type EventDataMap,
  type EventType,
  isEventType,
  secretPaths,
} from './events/catalogue/index.js';
export { type CreateEventOptions, createEvent, serializeEvent } from './events/create.js';
export { EnvelopeSchema, type ExtensionAttributes, type IdentityEvent } from './events/envelope.js';
export { eventJsonSchema } from './events/json-schema.js';
export {
  type EventInvalidDetails,
  type EventIssue,
  type ParseEventResult,
  parseEvent,
  parseEventOfType,
  safeParseEvent,
} from './events/parse.js';
export {
  decodeSubjectAttribute,
  encodeSubjectAttribute,
  eventSubject,
  SUBJECT_ATTRIBUTE_MAX_LENGTH,
  type SubjectAttributeIssue,
} from './events/subject-attribute.js';
export {
  normaliseSubject,
  type SubjectMatchOptions,
  subjectKey,
  subjectKeys,
  subjectsMatch,
} from './subjects/normalise.js';
export {
  AccountSubjectSchema,
  AliasesSubjectSchema,
  DidSubjectSchema,
  EmailSubjectSchema,
  IssSubSubjectSchema,
  OpaqueSubjectSchema,
  PhoneSubjectSchema,
  type SimpleSubjectIdentifier,
  type SubjectFormat,
  type SubjectIdentifier,
  SubjectIdentifierSchema,
  UriSubjectSchema,
} from './subjects/subject-identifier.js';
