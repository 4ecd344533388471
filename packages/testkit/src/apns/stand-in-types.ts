import type { KeyObject } from 'node:crypto';
import type { Clock } from '@idrelay/core';
import type { TestCertificate } from '../tls/self-signed.js';

/** Options of {@link startApnsStandIn}. */
export interface ApnsStandInOptions {
  /** The public key of the `.p8` signing key (PEM or `KeyObject`; a private key works too). */
  publicKey: string | Buffer | KeyObject;
  /** Expected JWT `iss`. */
  teamId: string;
  /** Expected JWT header `kid`. */
  keyId: string;
  /** Bundle ids accepted as `apns-topic` (suffixes `.voip`/`.complication` allowed); default any. */
  topics?: readonly string[];
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced per connection; default 1000. */
  maxConcurrentStreams?: number;
  /**
   * A connection whose provider token is replaced by one issued (`iat`) less than this after the previous one gets
   * 429 `TooManyProviderTokenUpdates`; default 20 min, 0 = off.
   */
  tokenUpdateIntervalMs?: number;
  /** Provider tokens older than this get 403 `ExpiredProviderToken`; default 1 hour. */
  tokenMaxAgeMs?: number;
  /** Time source for token ages and 410 timestamps; pass the same fake clock as the transport under test. */
  clock?: Clock;
  /** Keep every request in {@link ApnsStandIn.requests}; default true (benchmarks turn it off). */
  record?: boolean;
  /** TLS certificate; default a fresh one from {@link createTestCertificate}. */
  certificate?: TestCertificate;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
}

/**
 * A scripted answer for one device token, used before the normal answer. Each entry applies `times` times
 * (default 1; `Infinity` for always) and only to requests that passed authentication and validation.
 */
export type ApnsScriptedResponse =
  /** An APNs answer: e.g. `{ status: 410, reason: 'Unregistered' }`, `{ status: 429, reason: 'TooManyRequests', retryAfterSeconds: 7 }`. */
  | {
      status: number;
      reason?: string;
      timestamp?: number;
      retryAfterSeconds?: number;
      delayMs?: number;
      times?: number;
    }
  /** The normal 200, after `delayMs`. */
  | { delayMs: number; times?: number }
  /**
   * The normal 200 once `until` settles: a gate the test opens, so a request can be held in flight without a timer
   * (`apns.script(token, { until: opened })`, where `opened` is a promise the test resolves).
   */
  | { until: PromiseLike<unknown>; times?: number }
  /**
   * A failure below HTTP: `reset` = RST_STREAM on this request, `goaway` = GOAWAY refusing this stream then close,
   * `drop` = destroy the TCP connection, `hang` = never answer.
   */
  | { fault: 'reset' | 'goaway' | 'drop' | 'hang'; times?: number };

/** One request as the stand-in saw it, with its answer. */
export interface ApnsRecordedRequest {
  token: string;
  /** Request headers, pseudo-headers included (`:path`, `:method`). */
  headers: Record<string, string>;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  payload: unknown;
  /** HTTP status sent, or 0 for a scripted fault. */
  status: number;
  reason?: string;
  apnsId?: string;
  /** Which connection carried it (1, 2, … in accept order). */
  connection: number;
  /** The stand-in's clock when the request arrived (ms since the epoch): `apns-expiration` minus this is the lifetime. */
  receivedAt: number;
}

/** A running APNs stand-in. */
export interface ApnsStandIn {
  /** `https://localhost:PORT`: pass as the transport's `origin`. */
  readonly origin: string;
  readonly port: number;
  /** The certificate (PEM) to trust: pass as the transport's `ca`. */
  readonly ca: string;
  /** Every request so far, oldest first. */
  readonly requests: readonly ApnsRecordedRequest[];
  /** Requests for one device token. */
  requestsFor(token: string): ApnsRecordedRequest[];
  /** Queues answers for `token`, used in order before normal handling. */
  script(token: string, ...responses: ApnsScriptedResponse[]): void;
  /** Binds `token` to `topic`: other topics get 400 `DeviceTokenNotForTopic`. */
  registerDevice(token: string, topic: string): void;
  /** HTTP/2 connections open now. */
  openSessions(): number;
  /** Streams open now, the most open at once since start (or {@link resetStats}), and connections accepted. */
  stats(): { activeStreams: number; peakStreams: number; sessionsAccepted: number; requests: number };
  resetStats(): void;
  /** Drops every connection and stops listening; pending timers are cleared. */
  close(): Promise<void>;
}
