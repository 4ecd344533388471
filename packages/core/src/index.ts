/**
 * `@idrelay/core`: the ports every idrelay package implements (transports, stores, directories, sources), push
 * messages and delivery results, the error base with its one code table, the retry vocabulary, and the types of
 * the identity event model. It has no runtime dependency and loads no schema library: the event model's runtime
 * (parsing, creating, the catalogue, RFC 9493 subject schemas) is `@idrelay/core/events`, which needs `zod`.
 *
 * @packageDocumentation
 */

export type { AudienceSpec } from './audience/audience-spec.js';
export {
  CORE_ERRORS,
  type CoreErrorCode,
  ERROR_CODES,
  type ErrorCode,
  type ErrorCodeRegistry,
  type ErrorInfo,
} from './errors/codes.js';
export {
  type ErrorDetailsByCode,
  type ErrorDetailsOf,
  IdrelayError,
  type IdrelayErrorOptions,
  isIdrelayError,
} from './errors/idrelay-error.js';
export { errorInfo, isErrorCode, registerErrorCodes } from './errors/registry.js';
export type { EventDataInputMap, EventDataMap, EventType } from './events/catalogue/index.js';
export type { CreateEventOptions } from './events/create.js';
export type { ExtensionAttributes, IdentityEvent } from './events/envelope.js';
export { eventKey } from './events/event-key.js';
export { DEFAULT_EVENT_LIMITS, type EventLimits, type GuardResult, guardEventInput } from './events/guard-input.js';
export type { EventInvalidDetails, EventIssue, ParseEventResult } from './events/parse.js';
export type { SubjectAttributeIssue } from './events/subject-attribute.js';
export {
  DEEP_LINK_MAX_LENGTH,
  type DeepLinkOptions,
  deepLinkSchemes,
  isDeepLink,
} from './messages/deep-link.js';
export { type FitIdentifierOptions, fitIdentifier } from './messages/fit-identifier.js';
export {
  type DeliveryResult,
  type DeliveryStatus,
  type DeviceAddress,
  type DeviceTarget,
  deviceAddressKey,
  deviceTarget,
  type Platform,
  type PushAction,
  type PushMessage,
  type Urgency,
  type WebPushSubscription,
} from './messages/push-message.js';
export {
  AUDIT_GENESIS_HASH,
  type AuditEntry,
  type AuditEntryInput,
  type AuditSink,
  canonicalJson,
  chainAuditEntries,
  hashAuditEntry,
  normaliseAuditEntry,
  verifyAuditChain,
} from './ports/audit.js';
export type {
  Directory,
  DirectoryGroup,
  DirectoryStreamOptions,
  DirectoryUser,
} from './ports/directory.js';
export type {
  Checkpoint,
  EventSink,
  IdentitySource,
  PullIdentitySource,
  PushIdentitySource,
  SourceBatch,
} from './ports/identity-source.js';
export type { DeliveryContext, DeliveryHandler, Queue, QueueStartOptions } from './ports/queue.js';
export { type Clock, type Logger, silentLogger, systemClock } from './ports/runtime.js';
export type {
  ActionTokenRecord,
  ActionTokenStore,
  ApplyResponseInput,
  ApplyResponseResult,
  ConsumeResult,
  FlowPatch,
  LookupOptions,
  ResponseLookup,
  StoredActionToken,
  TokenPurpose,
} from './ports/store/action-tokens.js';
export type { AuditStore } from './ports/store/audit-store.js';
export { composeResponsePorts, type ResponsePortsBase } from './ports/store/compose-responses.js';
export type { DeviceRecord, DeviceStore } from './ports/store/devices.js';
export type { DigestStore } from './ports/store/digests.js';
export type {
  DirectoryPage,
  DirectoryStore,
  GroupEdge,
  GroupMembers,
  ResourceApprovers,
  StoredGroup,
  StoredUser,
} from './ports/store/directory.js';
export type {
  EventStatus,
  EventStore,
  ListUnplannedOptions,
  RejectedInput,
  StoredEvent,
} from './ports/store/events.js';
export type { FlowRecord, FlowStore } from './ports/store/flows.js';
export type {
  ClaimOptions,
  Delivery,
  DeliveryOutcome,
  NewDelivery,
  OutboxStatus,
  OutboxStore,
  SettleResult,
} from './ports/store/outbox.js';
export type {
  EmitOptions,
  OutgoingEntry,
  OutgoingInput,
  OutgoingOutcome,
  OutgoingStatus,
  OutgoingStore,
} from './ports/store/outgoing.js';
export type { PreferenceRule, PreferenceStore, QuietHours, UserPreferences } from './ports/store/preferences.js';
export type { RetentionCounts, RetentionCutoffs, RetentionStore } from './ports/store/retention.js';
export type { Store } from './ports/store/store.js';
export type { ClaimedTimer, TimerRecord, TimerStore } from './ports/store/timers.js';
export type { PushRequest, SendOptions, Transport } from './ports/transport.js';
export type { WriteBack, WriteBackResult } from './ports/write-back.js';
export { type BackoffPolicy, backoffDelay } from './retry/backoff.js';
export { MAX_RETRY_AFTER_MS, type ParseRetryAfterOptions, parseRetryAfter } from './retry/retry-after.js';
export { type SleepOptions, sleep, type Timers } from './retry/sleep.js';
export type { SubjectMatchOptions } from './subjects/normalise.js';
export type { SimpleSubjectIdentifier, SubjectFormat, SubjectIdentifier } from './subjects/subject-identifier.js';
export { isTimeZone } from './time/time-zone.js';
