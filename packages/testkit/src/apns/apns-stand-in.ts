import { randomUUID } from 'node:crypto';
import {
  constants,
  createSecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createTestCertificate } from '../tls/self-signed.js';
import { type ApnsRefusal, checkApnsRequest } from './check-request.js';
import { createProviderTokenVerifier } from './provider-token-verifier.js';
import type { ApnsRecordedRequest, ApnsScriptedResponse, ApnsStandIn, ApnsStandInOptions } from './stand-in-types.js';

export type { ApnsRecordedRequest, ApnsScriptedResponse, ApnsStandIn, ApnsStandInOptions } from './stand-in-types.js';

interface Script {
  response: ApnsScriptedResponse;
  left: number;
}

/**
 * Starts a local APNs provider API on `127.0.0.1` over HTTP/2 + TLS that behaves like Apple's: `POST /3/device/:token`
 * with an ES256 provider token checked against `publicKey`, `teamId` and `keyId`, the documented header and payload
 * checks and their 400/403/413/429 reasons, `apns-id` echoed or generated, and scriptable failures per device
 * (410 with a timestamp, 429 with `Retry-After`, 5xx, slow or gated answers, stream resets, GOAWAY, dropped
 * connections).
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
  const sessions = new Map<Http2Session, { id: number; token?: string; tokenIat: number }>();
  const timers = new Set<NodeJS.Timeout>();
  const stats = { activeStreams: 0, peakStreams: 0, sessionsAccepted: 0, requests: 0 };

  const server = createSecureServer({
    cert: certificate.cert,
    key: certificate.key,
    allowHTTP1: false,
    settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 1000 },
  });
  server.on('session', (session) => {
    sessions.set(session, { id: ++stats.sessionsAccepted, tokenIat: 0 });
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

  // Authentication first, then the documented request checks, as APNs orders them.
  function refuse(
    state: { token?: string; tokenIat: number } | undefined,
    headers: IncomingHttpHeaders,
    path: string,
    token: string,
    body: Buffer,
  ): ApnsRefusal | undefined {
    if (headers[':method'] !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
    if (!path.startsWith('/3/device/')) return { status: 404, reason: 'BadPath' };
    const authorization = headers.authorization;
    const problem = verifier.check(authorization, clock.now());
    if (problem !== undefined) return { status: 403, reason: problem };
    if (state !== undefined && authorization !== undefined && state.token !== authorization) {
      // Apple: a connection whose provider token is replaced by one issued less than 20 minutes after the previous
      // one gets TooManyProviderTokenUpdates. Judged by `iat`, so a connection opened late in a token's life may
      // still switch to the next token at the sender's normal refresh.
      const iat = verifier.issuedAt(authorization) ?? 0;
      if (state.token !== undefined && updateInterval > 0 && iat - state.tokenIat < updateInterval) {
        return { status: 429, reason: 'TooManyProviderTokenUpdates' };
      }
      state.token = authorization;
      state.tokenIat = iat;
    }
    return checkApnsRequest(token, headers, body, rules);
  }

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
      receivedAt: clock.now(),
    };
    if (record) requests.push(entry);
    const answer = (
      refusal: ApnsRefusal | undefined,
      extra: { timestamp?: number; retryAfterSeconds?: number } = {},
    ) => {
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
      stream.end(
        JSON.stringify(timestamp === undefined ? { reason: refusal.reason } : { reason: refusal.reason, timestamp }),
      );
    };

    const refusal = refuse(state, headers, path, token, body);
    if (refusal !== undefined) {
      answer(refusal);
      return;
    }
    const scripted = nextScript(token);
    if (scripted === undefined) {
      answer(undefined);
      return;
    }
    if ('fault' in scripted) {
      entry.reason = scripted.fault;
      if (scripted.fault === 'reset') stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      else if (scripted.fault === 'drop') session?.destroy();
      else if (scripted.fault === 'goaway' && session !== undefined) {
        // APNs puts the reason in the GOAWAY's debug data, then drops the connection.
        session.goaway(
          constants.NGHTTP2_NO_ERROR,
          Math.max(0, (stream.id ?? 1) - 2),
          Buffer.from('{"reason":"Shutdown"}'),
        );
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
    if ('until' in scripted) {
      Promise.resolve(scripted.until).then(respond, respond);
      return;
    }
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
      const ended = [...sessions.keys()].map(
        (session) =>
          new Promise<void>((resolve) => {
            session.once('close', () => resolve());
            session.destroy();
          }),
      );
      await Promise.all([closed, ...ended]);
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
