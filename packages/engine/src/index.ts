/**
 * `@idrelay/engine`: `createRelay()` turns identity events into push notifications — ingest, rules, audiences,
 * preferences, templates, a durable outbox and dispatch — and explains its decisions with `relay.preview()`.
 *
 * @packageDocumentation
 */

export type { ActionRequest } from './actions/authenticate.js';
export { createActionHandlers, problemResponse, readBoundedBody } from './actions/http-handlers.js';
export { PROOF_ALGORITHMS, PROOF_TYPE, type ProofClaims } from './actions/proof.js';
export {
  ACTION_DEFAULTS,
  type ActionsOptions,
  type DetailsResult,
  type Responder,
  type RespondResult,
} from './actions/responder.js';
export type { PreparedDecision, ResponseHandler, ResponseVerdict, VerifiedResponse } from './actions/response.js';
export { type SignProofInput, signProof } from './actions/sign-proof.js';
export { accessTokenHash, codeHash, tokenHash } from './actions/token-hash.js';
export { bindAudience } from './audience/bind-audience.js';
export { type AudiencePageOptions, attributesMatch, audiencePages } from './audience/resolve-audience.js';
export { createRelay, type Relay, type RelayOptions } from './create-relay.js';
export { type DeviceKeyAlgorithm, type DevicePublicKey, parseDeviceKey } from './devices/device-key.js';
export { ENROLMENT_CODE_TTL_MS, type EnrolmentRequest, type VerifyBearer } from './devices/enrolment.js';
export {
  createRelayDevices,
  type DevicePatch,
  type DeviceRegistration,
  type RelayDevices,
} from './devices/relay-devices.js';
export {
  createStoreDirectory,
  type StoreDirectory,
  type StoreDirectoryOptions,
} from './directory/store-directory.js';
export {
  DIRECTORY_LIMITS,
  type DirectoryGroupInput,
  type DirectoryIssue,
  type DirectoryUserInput,
} from './directory/validate-input.js';
export { type RetryPolicy, retryDelay } from './dispatch/backoff.js';
export { createOutboxQueue, type OutboxQueue, type OutboxQueueOptions } from './dispatch/outbox-queue.js';
export { globalScheduler, type Scheduler } from './dispatch/scheduler.js';
export {
  type CodeStep,
  DEFAULT_MAX_TRANSITIONS,
  DEFAULT_STATUS_CHECK_MS,
  defineFlow,
  type FlowDefinition,
  type FlowEventBuilder,
  type FlowEventContext,
  type FlowFunction,
  type FlowFunctionResult,
  type FlowScope,
  type FlowStep,
  type FlowTransition,
  type FlowTrigger,
  type NotifyStep,
  type Quorum,
  type StepOptions,
} from './flows/definition.js';
export type { FlowDecision, FlowTraceEntry, FlowView } from './flows/flow-state.js';
export type { ApiDecision, RelayFlows } from './flows/relay-flows.js';
export {
  type AccessApprovalOptions,
  accessApprovalFlow,
  type OnboardingStepSpec,
  onboardingFlow,
  requiredActionFlow,
  sessionConfirmationFlow,
} from './flows/shipped-flows.js';
export type { IngestResult } from './ingest/ingest-event.js';
export type { RelayListener } from './outgoing/listeners.js';
export type { DeviceVerdict, NotificationPlan, PlanContext, RecipientFailure } from './plan/fan-out.js';
export { notificationId } from './plan/keys.js';
export type { PlannedNotification, PlanResult } from './plan/plan-event.js';
export { applyPreferenceEvent } from './preferences/apply-preference-event.js';
export { type DeliveryFacts, decideDelivery, type PreferenceDecision } from './preferences/decide.js';
export { decodePreferences, encodePreferences } from './preferences/preferences-codec.js';
export { createZoneClock, quietHoursAt, type ZoneClock } from './preferences/quiet-hours.js';
export type { RelayPreferences } from './preferences/relay-preferences.js';
export type {
  PreviewDevice,
  PreviewFailure,
  PreviewNotification,
  PreviewRecipient,
  PreviewResult,
  RelayPreview,
} from './preview/preview-event.js';
export { defaultTemplates } from './render/default-templates.js';
export { fillText } from './render/fill-text.js';
export { type RenderOptions, renderMessage } from './render/render-message.js';
export { redactSecrets } from './render/secrets.js';
export {
  type CompiledTemplate,
  type DefineTemplateOptions,
  defineTemplate,
  type TemplateDefinition,
  type TemplateField,
} from './render/template.js';
export {
  type CreateTemplatesOptions,
  createTemplates,
  localeChain,
  type TemplateRegistry,
} from './render/template-registry.js';
export { type Condition, testCondition } from './rules/conditions.js';
export { type DefaultRulesOptions, defaultRules } from './rules/default-rules.js';
export { evaluateRules, type RuleEvaluation, type RuleTrailEntry } from './rules/evaluate-rules.js';
export {
  type AudienceTemplate,
  type CodeRule,
  type CodeRuleResult,
  type DeclarativeRule,
  type DigestOptions,
  defineRules,
  type IntentSpec,
  type NotificationIntent,
  type Rule,
  type RuleContext,
} from './rules/rule.js';
export { readPath } from './shared/read-path.js';
export { DEFAULT_RETENTION, type RetentionPolicy } from './timers/retention.js';
export type { PushLimitOptions } from './verification/push-limit.js';
export {
  type RelayVerifications,
  type StartedVerification,
  VERIFICATION_KIND,
  type VerificationOptions,
  type VerificationStart,
  type VerificationState,
  type VerificationStatus,
} from './verification/verifications.js';
