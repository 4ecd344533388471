import type { Agent } from 'node:https';
import type { Clock, Logger } from '@idrelay/core';
import type { VapidKeys } from './vapid/vapid-keys.js';

/** Options of {@link createWebPushTransport}. */
export interface WebPushTransportOptions {
  /** The application server's VAPID keys and contact subject (RFC 8292). */
  vapid: VapidKeys;
  /**
   * Extra certificate authorities to trust (PEM), e.g. `service.ca` of the testkit's stand-in. Real push services
   * need none. Ignored when `agent` is given.
   */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Your own `https.Agent` (a proxy agent, say). Requests then go through `node:https` instead of the built-in
   * HTTP/1.1 connection pool, which costs more CPU per message; the transport neither configures nor destroys the
   * agent, so `close()` leaves its sockets to you.
   */
  agent?: Agent;
  /** Sockets per push-service origin, and the most requests one `send` keeps in flight. Default 64. */
  maxSockets?: number;
  /**
   * Deadline for one request, from the call (the wait for a free connection included) to the answer. Default
   * 10 000 ms; a miss is `retry-after` `ERR_TRANSPORT_TIMEOUT`.
   */
  timeoutMs?: number;
  /** `TTL` when the message has no `ttlSeconds` (still capped by a request's `expiresAt`). Default 86 400 s (one day). */
  defaultTtlSeconds?: number;
  /** VAPID token lifetime, at most 24 h (RFC 8292 §2). Default 12 h; tokens are re-signed 1 h before expiry. */
  vapidExpirySeconds?: number;
  /** Time source for VAPID expiry and `Retry-After` dates. Default the system clock. */
  clock?: Clock;
  /** Shown in logs and metrics. Default `webpush`. */
  name?: string;
  /** Receives a debug line per request that got no answer (device, code, reason); default silent. */
  logger?: Logger;
}
