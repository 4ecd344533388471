import type { IncomingMessage } from 'node:http';
import type { Clock, WebPushSubscription } from '@idrelay/core';
import type { VapidClaims } from './vapid-verify.js';

/** Options of {@link startWebPushService}. */
export interface WebPushServiceOptions {
  /** Time for VAPID `exp` checks; share a test's fake clock with the transport. Default: the system clock. */
  clock?: Clock;
  /** Largest accepted body (RFC 8030 §7.2: at least 4096). Default 4096; larger bodies get 413. */
  maxBodyBytes?: number;
  /** Keep each accepted plaintext and request (default true). Benchmarks turn it off and read {@link WebPushService.counts}. */
  record?: boolean;
}

/** Options of {@link WebPushService.subscribe}. */
export interface SubscribeOptions {
  /** Only VAPID tokens signed by this key (base64url, as passed to `pushManager.subscribe`) are accepted; others get 403. */
  applicationServerKey?: string;
  /**
   * The user agent's own public key (`p256dh`, base64url uncompressed P-256 point) and 16-byte `auth` secret, as a
   * browser makes them (RFC 8291 §3.2). The service then holds no private key, as a real push service: it checks
   * the `aes128gcm` header, accepts the message unread and records it encrypted in {@link ReceivedWebPush.body},
   * for the holder of the keys (e.g. `@idrelay/testkit/device`) to decrypt. Default: the service makes the keys
   * and decrypts every message itself.
   */
  keys?: { p256dh: string; auth: string };
}

/**
 * A scripted answer for one subscription, applied after VAPID and header checks pass:
 * a status (404, 410, 413, 429 with `retryAfter`, 403, 5xx …), a normal answer after `delayMs` or once `until`
 * settles (a gate the test opens, so a request is held in flight without a timer), an answer that never comes
 * (`hang`, ends at {@link WebPushService.close}), or a connection reset.
 */
export type ScriptedPushResponse =
  | { status: number; retryAfter?: string | number; body?: string }
  | { delayMs: number }
  | { until: PromiseLike<unknown> }
  | { hang: true }
  | { reset: true };

/** One request as the service saw it, whatever the answer. */
export interface RecordedPushRequest {
  subscriptionId: string;
  /** The status answered; 0 for a reset or an unanswered request. */
  status: number;
  /** Why a request was refused (VAPID reason, header problem, decryption failure). */
  reason?: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
  vapid?: VapidClaims;
}

/** A push the service accepted (201) and decrypted. */
export interface ReceivedWebPush {
  subscriptionId: string;
  endpoint: string;
  /** RFC 8030 §5.2 `TTL`, §5.3 `Urgency` (default `normal`) and §5.4 `Topic`, as sent. */
  ttl: number;
  urgency: string;
  topic?: string;
  vapid: VapidClaims;
  headers: IncomingMessage['headers'];
  /**
   * The decrypted message. Empty for a subscription made with the user agent's own `keys`, whose messages the
   * service cannot read: decrypt {@link body} with those keys instead.
   */
  plaintext: Buffer;
  /** The `aes128gcm` body exactly as it arrived (RFC 8188 header and one encrypted record). */
  body: Buffer;
  /** The service's clock when it accepted the message (ms since the epoch). */
  receivedAt: number;
  /** Whether the service decrypted the message (false for a subscription made with the user agent's `keys`). */
  decrypted: boolean;
  /** The plaintext as UTF-8. */
  text(): string;
  /** The plaintext parsed as JSON. */
  json<T = unknown>(): T;
}

/** Totals since start, kept even when recording is off. */
export interface WebPushServiceCounts {
  requests: number;
  /** Answered 201 after VAPID verification and decryption. */
  accepted: number;
  decrypted: number;
  refused: number;
}

/** A running local Web Push service; see {@link startWebPushService}. */
export interface WebPushService {
  /** `https://localhost:PORT` — the VAPID `aud` the service expects. */
  readonly origin: string;
  readonly port: number;
  /** The service's self-signed certificate (PEM); trust it with `ca`/an agent, never by disabling TLS checks. */
  readonly ca: string;
  /** Issues a subscription as a browser would after `pushManager.subscribe()`: a fresh P-256 key pair and auth secret. */
  subscribe(options?: SubscribeOptions): WebPushSubscription;
  /** Makes later requests to the subscription get 410 Gone, as after the user revokes permission. */
  unsubscribe(subscription: WebPushSubscription | string): void;
  /** Scripts the next `times` answers (default: all) for a subscription. Scripts queue in order. */
  script(
    subscription: WebPushSubscription | string,
    response: ScriptedPushResponse,
    options?: { times?: number },
  ): void;
  /** Accepted pushes, for one subscription or all, oldest first. */
  received(subscription?: WebPushSubscription | string): ReceivedWebPush[];
  /** Every request, for one subscription or all, oldest first. */
  requests(subscription?: WebPushSubscription | string): RecordedPushRequest[];
  counts(): WebPushServiceCounts;
  /** TCP connections open now. */
  openConnections(): number;
  /** Stops listening, drops every connection and pending timer. */
  close(): Promise<void>;
}
