/**
 * `@idrelay/testkit`: what users' tests and ours share — local stand-ins that speak the real APNs, FCM and
 * Web Push wire protocols, and the contract suites every transport, store and directory passes.
 *
 * @packageDocumentation
 */

export {
  type ContractReceivedPush,
  type ContractTargetKind,
  type TransportContractHarness,
  type TransportContractOptions,
  transportContract,
} from './contract/transport-contract.js';
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
