import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  constants,
  createSecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Clock } from '@idrelay/core';
import { createTestCertificate, type TestCertificate } from '../tls/self-signed.js';
import { type ApnsRefusal, checkApnsRequest } from './check-request.js';
import { createProviderTokenVerifier } from './provider-token-verifier.js';

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
  /** A connection whose provider token changes sooner than this gets 429 `TooManyProviderTokenUpdates`; default 20 min, 0 = off. */
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
  | { status: number; reason?: string; timestamp?: number; retryAfterSeconds?: number; delayMs?: number; times?: number }
  /** The normal 200, after `delayMs`. */
  | { delayMs: number; times?: number }
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

interface Script {
  response: ApnsScriptedResponse;
  left: number;
}

/**
 * Starts a local APNs provider API on `127.0.0.1` over HTTP/2 + TLS that behaves like Apple's: `POST /3/device/:token`
 * with an ES256 provider token checked against `publicKey`, `teamId` and `keyId`, the documented header and payload
 * checks and their 400/403/413/429 reasons, `apns-id` echoed or generated, and scriptable failures per device
 * (410 with a timestamp, 429 with `Retry-After`, 5xx, slow answers, stream resets, GOAWAY, dropped connections).
 *
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const apns = await startApnsStandIn({ publicKey, teamId: 'DEF123GHIJ', keyId: 'ABC123DEFG' });
 * apns.script(goneToken, { status: 410, reason: 'Unregistered' });
 * const transport = createApnsTransport({ signingKey: privateKey, teamId: 'DEF123GHIJ', keyId: 'ABC123DEFG',
 *   defaultTopic: 'com.example.app', origin: apns.origin, ca: apns.ca });
 * // … send, then inspect apns.requestsFor(token)
 * await apns.close();
 * ```
 */
export async function startApnsStandIn(options: ApnsStandInOptions): Promise<ApnsStandIn> {
  const certificate = options.certificate ?? createTestCertificate();
  const clock = options.clock ?? { now: () => Date.now() };
  const record = options.record ?? true;
  const updateInterval = options.tokenUpdateIntervalMs ?? 20 * 60_000;
  const verifier = createProviderTokenVerifier({
    publicKey: options.publicKey,
    teamId: options.teamId,
    keyId: options.keyId,
    maxAgeMs: options.tokenMaxAgeMs ?? 3_600_000,
  });
  const rules = { topics: options.topics ?? [], deviceTopics: new Map<string, string>() };
  const scripts = new Map<string, Script[]>();
  const requests: ApnsRecordedRequest[] = [];
  const sessions = new Map<ServerHttp2Session, { id: number; token?: string; tokenSetAt: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const stats = { activeStreams: 0, peakStreams: 0, sessionsAccepted: 0, requests: 0 };

  const server = createSecureServer({
    cert: certificate.cert,
    key: certificate.key,
    allowHTTP1: false,
    settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
  });
  server.on('session', (session) => {
    sessions.set(session, { id: ++stats.sessionsAccepted, tokenSetAt: 0 });
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stats.activeStreams++;
    if (stats.activeStreams > stats.peakStreams) stats.peakStreams = stats.activeStreams;
    stream.on('close', () => stats.activeStreams--);
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => handle(stream, headers, Buffer.concat(chunks)));
  });

  const nextScript = (token: string): ApnsScriptedResponse | undefined => {
    const queue = scripts.get(token);
    const head = queue?.[0];
    if (queue === undefined || head === undefined) return undefined;
    if (--head.left <= 0) queue.shift();
    return head.response;
  };

  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  function handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer): void {
    stats.requests++;
    const session = stream.session;
    const state = session === undefined ? undefined : sessions.get(session);
    const path = headers[':path'] ?? '';
    const token = path.startsWith('/3/device/') ? decodeURIComponent(path.slice('/3/device/'.length)) : '';
    const entry: ApnsRecordedRequest = {
      token,
      headers: flatten(headers),
      payload: parsePayload(body),
      status: 0,
      connection: state?.id ?? 0,
    };
    if (record) requests.push(entry);
    const answer = (refusal: ApnsRefusal | undefined, extra: { timestamp?: number; retryAfterSeconds?: number } = {}) => {
      const apnsId = typeof headers['apns-id'] === 'string' ? headers['apns-id'] : randomUUID();
      entry.status = refusal?.status ?? 200;
      entry.apnsId = apnsId;
      if (refusal !== undefined) entry.reason = refusal.reason;
      if (stream.destroyed) return;
      const out: Record<string, string | number> = { ':status': entry.status, 'apns-id': apnsId };
      if (extra.retryAfterSeconds !== undefined) out['retry-after'] = String(extra.retryAfterSeconds);
      if (refusal === undefined) {
        stream.respond(out, { endStream: true });
        return;
      }
      out['content-type'] = 'application/json';
      stream.respond(out);
      const timestamp = extra.timestamp ?? (refusal.status === 410 ? clock.now() : undefined);
      stream.end(JSON.stringify(timestamp === undefined ? { reason: refusal.reason } : { reason: refusal.reason, timestamp }));
    };

    if (headers[':method'] !== 'POST') return answer({ status: 405, reason: 'MethodNotAllowed' });
    if (!path.startsWith('/3/device/')) return answer({ status: 404, reason: 'BadPath' });
    const authorization = headers.authorization;
    const problem = verifier.check(authorization, clock.now());
    if (problem !== undefined) return answer({ status: 403, reason: problem });
    if (state !== undefined && state.token !== authorization) {
      // Apple: refreshing the token more than once every 20 minutes on a connection → TooManyProviderTokenUpdates.
      if (state.token !== undefined && updateInterval > 0 && clock.now() - state.tokenSetAt < updateInterval) {
        return answer({ status: 429, reason: 'TooManyProviderTokenUpdates' });
      }
      state.token = authorization;
      state.tokenSetAt = clock.now();
    }
    const refusal = checkApnsRequest(token, headers, body, rules);
    if (refusal !== undefined) return answer(refusal);

    const scripted = nextScript(token);
    if (scripted === undefined) return answer(undefined);
    if ('fault' in scripted) {
      entry.reason = scripted.fault;
      if (scripted.fault === 'reset') stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      else if (scripted.fault === 'drop') session?.destroy();
      else if (scripted.fault === 'goaway' && session !== undefined) {
        // APNs puts the reason in the GOAWAY's debug data, then drops the connection.
        session.goaway(constants.NGHTTP2_NO_ERROR, Math.max(0, stream.id - 2), Buffer.from('{"reason":"Shutdown"}'));
        setImmediate(() => session.destroy());
      }
      return;
    }
    const respond = () =>
      'status' in scripted
        ? answer(scripted.status === 200 ? undefined : { status: scripted.status, reason: scripted.reason ?? '' }, {
            ...(scripted.timestamp === undefined ? {} : { timestamp: scripted.timestamp }),
            ...(scripted.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: scripted.retryAfterSeconds }),
          })
        : answer(undefined);
    if (scripted.delayMs !== undefined && scripted.delayMs > 0) later(scripted.delayMs, respond);
    else respond();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    origin: `https://localhost:${port}`,
    port,
    ca: certificate.cert,
    requests,
    requestsFor: (token) => requests.filter((r) => r.token === token),
    script(token, ...responses) {
      const queue = scripts.get(token) ?? [];
      for (const response of responses) queue.push({ response, left: response.times ?? 1 });
      scripts.set(token, queue);
    },
    registerDevice(token, topic) {
      rules.deviceTopics.set(token, topic);
    },
    openSessions: () => sessions.size,
    stats: () => ({ ...stats }),
    resetStats() {
      stats.peakStreams = stats.activeStreams;
      stats.requests = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions.keys()) session.destroy();
      await closed;
    },
  };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function parsePayload(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
