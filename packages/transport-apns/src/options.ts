import type { Clock, Logger } from '@idrelay/core';
import type { ApnsSigningKey } from './auth/provider-token.js';

/**
 * APNs hosts: `sandbox` serves development builds run from Xcode; TestFlight and App Store builds use `production`.
 *
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @example
 * ```ts
 * createApnsTransport({ ...credentials, environment: 'sandbox' }); // → APNS_HOSTS.sandbox
 * ```
 */
export const APNS_HOSTS = {
  production: 'https://api.push.apple.com',
  sandbox: 'https://api.sandbox.push.apple.com',
} as const;

/** Which APNs environment a device token belongs to. */
export type ApnsEnvironment = keyof typeof APNS_HOSTS;

/** Retry policy inside one `send()`: past it, a device's result is `retry-after` and the outbox takes over. */
export interface ApnsRetryOptions {
  /** Attempts per device including the first; default 3. 1 disables retries. */
  attempts?: number;
  /**
   * Ceiling of the first backoff; default 250 ms. Retry n waits a random time below min(maxDelayMs, baseDelayMs ×
   * 2ⁿ⁻¹) (full jitter, core's `backoffDelay`), and never less than the service's `Retry-After`.
   */
  baseDelayMs?: number;
  /** Longest single wait; default 5000 ms. A `Retry-After` longer than this ends the retries for that device. */
  maxDelayMs?: number;
  /** Total time one device may spend in retries within one `send()`; default 10 000 ms. */
  budgetMs?: number;
}

/**
 * Options of `createApnsTransport()`. Only `signingKey`, `teamId`, `keyId` and `defaultTopic` are required; they
 * come from Apple Developer → Certificates, Identifiers & Profiles → Keys.
 */
export interface ApnsTransportOptions {
  /** The `.p8` token-signing key: PEM text, its bytes, or a `KeyObject`. */
  signingKey: ApnsSigningKey;
  /** Team ID (10 characters, top right in Apple Developer). */
  teamId: string;
  /** Key ID of the `.p8` key (10 characters, also in its file name `AuthKey_<KeyID>.p8`). */
  keyId: string;
  /** The app's bundle id, used as `apns-topic` unless the device or message names another. */
  defaultTopic: string;
  /** Host for devices that do not say; default `production`. Devices with `environment` go to their own host. */
  environment?: ApnsEnvironment;
  /**
   * Sends to this origin instead of Apple's hosts, e.g. a stand-in's `https://localhost:PORT`: one origin for every
   * device, or one per environment (`{ production, sandbox }`; a missing one falls back to Apple's host). With
   * `ca`, this is how tests reach `startApnsStandIn()` from `@idrelay/testkit`.
   */
  origin?: string | Partial<Record<ApnsEnvironment, string>>;
  /** Extra trusted CA certificates (PEM) for `origin`; never turn TLS verification off instead. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** HTTP/2 connections per host; default 4. */
  connections?: number;
  /** Streams per connection, further capped by what APNs announces; default 100. */
  streamsPerConnection?: number;
  /** Requests in flight across all connections; default 256. Larger batches queue inside the transport. */
  concurrency?: number;
  /**
   * Time for one request, from sending (including connecting, on a new connection) to the answer's last byte;
   * default 10 000 ms. Past it the device gets `retry-after` `ERR_TRANSPORT_TIMEOUT`.
   */
  timeoutMs?: number;
  /** Provider-token refresh age, 20–55 minutes; default 50. */
  tokenRefreshMs?: number;
  /** Retries for 429, 5xx and network failures inside one `send()`. */
  retry?: ApnsRetryOptions;
  /** PING interval for idle connections; default 10 minutes, 0 disables. */
  pingIntervalMs?: number;
  /** Time source for provider tokens and `apns-expiration`; tests pass a fake clock. */
  clock?: Clock;
  /** Source of randomness for backoff jitter, in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Receives a debug line per retry (device, attempt, delay, code); default silent. */
  logger?: Logger;
  /** For logs and metrics; default `apns:<defaultTopic>`. */
  name?: string;
}
