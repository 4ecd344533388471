/**
 * `@idrelay/identity-oidc`: `verifyBearer` for idrelay's APIs (OpenID discovery, JWT access tokens, RFC 7662
 * introspection), and the OpenID Shared Signals receiver — RFC 8935 push delivery of Security Event Tokens
 * (SSF 1.0 profile), verified with jose and mapped from CAEP and RISC to idrelay identity events.
 *
 * @packageDocumentation
 */

export {
  type ConsoleLogin,
  type ConsoleLoginOptions,
  type ConsoleSession,
  createConsoleLogin,
  type StepUpRequirement,
} from './console/console-login.js';
export { LOGIN_ERRORS, type LoginFailureReason } from './console/login-errors.js';
export { type ConsoleSessionStore, createMemoryConsoleStore } from './console/session-store.js';
export {
  type BearerPrincipal,
  type BearerVerifierOptions,
  createBearerVerifier,
  type VerifyBearer,
} from './oidc/bearer-verifier.js';
export {
  type ClientCredentials,
  type ClientCredentialsOptions,
  createClientCredentials,
} from './oidc/client-credentials.js';
export { SSF_EVENT_TYPES } from './ssf/event-types.js';
export type { SetIntakeOptions } from './ssf/intake.js';
export { type MapSetOptions, mapSet, type SsfMapping, type SsfSignal } from './ssf/map-set.js';
export { createSsfPoller, type SsfPoller, type SsfPollerOptions, type SsfPollResult } from './ssf/poller.js';
export { createSsfPushReceiver, type RequestHandler, type SsfPushReceiverOptions } from './ssf/push-receiver.js';
export { createMemoryReplayGuard, type ReplayGuard } from './ssf/replay-window.js';
export {
  createSsfTransmitterClient,
  type SsfStreamConfiguration,
  type SsfStreamRequest,
  type SsfStreamStatus,
  type SsfStreamStatusValue,
  type SsfSubject,
  type SsfTransmitterClient,
  type SsfTransmitterClientOptions,
  type SsfTransmitterMetadata,
  ssfConfigurationUrl,
} from './ssf/transmitter-client.js';
export { createSetVerifier, type SetClaims, type SetVerifier, type SetVerifierOptions } from './ssf/verify-set.js';
