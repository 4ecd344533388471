/**
 * `@idrelay/testkit`: local stand-ins that speak the real APNs, FCM and Web Push wire protocols, test
 * certificates, an in-memory directory and database helpers. The vitest contract suites live in
 * `@idrelay/testkit/contracts` and the msw handlers in `@idrelay/testkit/msw`, so importing the stand-ins loads
 * neither vitest nor msw.
 *
 * @packageDocumentation
 */

export {
  type ApnsRecordedRequest,
  type ApnsScriptedResponse,
  type ApnsStandIn,
  type ApnsStandInOptions,
  startApnsStandIn,
} from './apns/apns-stand-in.js';
export { type ApnsRefusal, type ApnsRequestRules, checkApnsRequest } from './apns/check-request.js';
export {
  createProviderTokenVerifier,
  type ProviderTokenProblem,
  type ProviderTokenVerifier,
  type ProviderTokenVerifierOptions,
} from './apns/provider-token-verifier.js';
export {
  createMemoryDirectory,
  type MemoryDirectoryOptions,
  type MemoryGroup,
  type MemoryUser,
} from './directory/memory-directory.js';
export { type SeedableDirectory, seedStoreDirectory } from './directory/seed-store-directory.js';
export {
  createFcmBackend,
  type FaultOptions,
  type FcmBackend,
  type FcmBackendOptions,
  type FcmFault,
  type FcmOutcome,
  type RecordedFcmMessage,
} from './fcm/fcm-backend.js';
export { type FcmErrorCode, type FcmReply, fcmErrorReply } from './fcm/fcm-errors.js';
export {
  type FirebaseRedirect,
  type FirebaseRedirectTarget,
  redirectFirebaseToStandIn,
} from './fcm/redirect-firebase.js';
export {
  createTestServiceAccount,
  type TestServiceAccount,
  type TestServiceAccountPair,
} from './fcm/service-account.js';
export { FCM_STAND_IN_HOSTS, type FcmStandIn, type FcmStandInOptions, startFcmStandIn } from './fcm/stand-in.js';
export { FCM_MAX_PAYLOAD_BYTES, fcmPayloadBytes, validateFcmSendBody } from './fcm/validate-message.js';
export { createMemoryStore, type MemoryStoreOptions } from './memory-store/create-memory-store.js';
export { freePort } from './net/free-port.js';
export {
  DEFAULT_POSTGRES_TEST_URL,
  type PostgresTestDatabase,
  postgresTestUrl,
  type RequirePostgresOptions,
  randomSchemaName,
  requirePostgres,
} from './postgres/test-database.js';
export { createTestCertificate, type TestCertificate } from './tls/self-signed.js';
export { DecryptError, decryptWebPushBody } from './webpush/decrypt.js';
export { type VapidCheck, type VapidClaims, verifyVapid } from './webpush/vapid-verify.js';
export {
  type ReceivedWebPush,
  type RecordedPushRequest,
  type ScriptedPushResponse,
  type SubscribeOptions,
  startWebPushService,
  type WebPushService,
  type WebPushServiceCounts,
  type WebPushServiceOptions,
} from './webpush/web-push-service.js';
