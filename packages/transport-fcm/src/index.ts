/**
 * `@idrelay/transport-fcm`: Firebase Cloud Messaging HTTP v1 for idrelay, on firebase-admin (loaded lazily), with
 * our own retry of rate limits and FCM 5xx.
 *
 * @packageDocumentation
 */

export { createFcmTransport, type FcmTransportOptions } from './create-fcm-transport.js';
export type { FcmServiceAccount } from './credentials.js';
export { type FcmFailure, mapFcmError } from './map-error.js';
export type { FcmRetryOptions } from './retry-policy.js';
