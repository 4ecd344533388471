/**
 * `@idrelay/transport-apns`: the idrelay {@link Transport} for Apple Push Notification service — HTTP/2 on
 * `node:http2`, token (`.p8`) authentication, bounded concurrency, timeouts and retries.
 *
 * @packageDocumentation
 */

export {
  type ApnsSigningKey,
  createProviderTokenSource,
  loadSigningKey,
  type ProviderTokenOptions,
  type ProviderTokenSource,
} from './auth/provider-token.js';
export { createApnsTransport } from './create-apns-transport.js';
export {
  APNS_HOSTS,
  type ApnsEnvironment,
  type ApnsRetryOptions,
  type ApnsTransportOptions,
} from './options.js';
export {
  type ApnsPushType,
  apnsExpiration,
  type EncodeApnsOptions,
  type EncodedApnsMessage,
  encodeApnsMessage,
  payloadLimit,
} from './payload/encode-message.js';
export { type ApnsResponse, mapApnsResponse } from './results/map-response.js';
