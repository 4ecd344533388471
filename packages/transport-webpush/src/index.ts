/**
 * `@idrelay/transport-webpush`: Web Push for idrelay — RFC 8030 delivery, RFC 8291 `aes128gcm` encryption and
 * RFC 8292 VAPID on `node:crypto` and `node:https`, with no runtime dependency.
 *
 * @packageDocumentation
 */

export { createWebPushTransport } from './create-web-push-transport.js';
export { mapResponse } from './delivery/map-response.js';
export {
  decodeSubscriberKeys,
  type EncryptOverrides,
  encryptWebPushPayload,
  type SubscriberKeys,
} from './encryption/encrypt.js';
export type { WebPushTransportOptions } from './options.js';
export { buildPayload, MAX_PLAINTEXT_BYTES, toTopic, type WebPushPayload } from './payload/build-payload.js';
export { generateVapidKeys, type ParsedVapidKeys, parseVapidKeys, type VapidKeys } from './vapid/vapid-keys.js';
export { createVapidSigner, type VapidSigner, type VapidSignerOptions } from './vapid/vapid-signer.js';
