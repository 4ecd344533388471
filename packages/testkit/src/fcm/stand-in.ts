import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createTestCertificate } from '../tls/self-signed.js';
import { createFcmBackend, type FcmBackend, type FcmOutcome } from './fcm-backend.js';
import type { FcmReply } from './fcm-errors.js';
import { createTestServiceAccount, type TestServiceAccount, type TestServiceAccountPair } from './service-account.js';

/** The Google host names the stand-in's certificate covers, so clients verify the real names against its CA. */
export const FCM_STAND_IN_HOSTS = ['fcm.googleapis.com', 'oauth2.googleapis.com'] as const;

/** Options of {@link startFcmStandIn}. */
export interface FcmStandInOptions {
  /** Default `idrelay-test`. */
  projectId?: string;
  /** A service account to accept; default a fresh one from {@link createTestServiceAccount}. */
  serviceAccount?: TestServiceAccountPair;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS; default 256. firebase-admin opens up to 100 streams before it has read
   * the server's SETTINGS, so fewer than 100 makes the first burst fail with REFUSED_STREAM.
   */
  maxConcurrentStreams?: number;
  /** `expires_in` of issued access tokens; default 3599. */
  tokenTtlSeconds?: number;
  /** Clock for token expiry; default `Date.now`. */
  now?: () => number;
}

/** A running FCM stand-in. See {@link startFcmStandIn}. */
export interface FcmStandIn extends Omit<FcmBackend, 'token' | 'send'> {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** PEM of the self-signed certificate; trust it with `ca`, never by disabling verification. */
  readonly ca: string;
  readonly projectId: string;
  /** A service-account key file the token endpoint accepts; hand it to firebase-admin's `cert()`. */
  readonly serviceAccount: TestServiceAccount;
  /** Requests served per protocol, e.g. `{ h2: 10, 'http/1.1': 1 }`: shows which firebase-admin path ran. */
  readonly requestsByProtocol: Readonly<Record<'h2' | 'http/1.1', number>>;
  /** TLS connections currently open (HTTP/2 sessions and HTTP/1.1 sockets). */
  openConnections(): number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;

/**
 * Starts a local FCM HTTP v1 service on 127.0.0.1 (random port) over TLS, speaking HTTP/2 and HTTP/1.1 like
 * fcm.googleapis.com: `POST /token` (OAuth 2.0 JWT bearer, RFC 7523) and `POST /v1/projects/{project}/messages:send`
 * with FCM's validation, error bodies and scriptable per-token faults. Point firebase-admin at it with
 * {@link redirectFirebaseToStandIn}.
 *
 * @example
 * ```ts
 * const fcm = await startFcmStandIn();
 * fcm.fail('token-gone', { kind: 'unregistered' });
 * const redirect = redirectFirebaseToStandIn(fcm);
 * // … firebase-admin app with cert(fcm.serviceAccount) and httpAgent: redirect.httpAgent …
 * redirect.restore();
 * await fcm.close();
 * ```
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
 */
export async function startFcmStandIn(options: FcmStandInOptions = {}): Promise<FcmStandIn> {
  const projectId = options.projectId ?? 'idrelay-test';
  const account = options.serviceAccount ?? createTestServiceAccount({ projectId });
  const backend = createFcmBackend({
    projectId,
    clientEmail: account.serviceAccount.client_email,
    publicKey: account.publicKey,
    ...(options.tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds: options.tokenTtlSeconds }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const { cert, key } = createTestCertificate({ hosts: FCM_STAND_IN_HOSTS });
  const counts = { h2: 0, 'http/1.1': 0 };
  const sockets = new Set<TLSSocket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http2.createSecureServer(
    { cert, key, allowHTTP1: true, settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256 } },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        counts[req.httpVersion === '2.0' ? 'h2' : 'http/1.1']++;
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url.split('?')[0] ?? '';
        const send = SEND_PATH.exec(path);
        let outcome: FcmOutcome;
        if (req.method === 'POST' && path === '/token') outcome = { type: 'reply', reply: backend.token(body) };
        else if (req.method === 'POST' && send) {
          outcome = backend.send(decodeURIComponent(send[1]!), req.headers.authorization, body);
        } else outcome = { type: 'reply', reply: { status: 404, headers: {}, body: { error: { code: 404 } } } };
        if (outcome.type === 'reset') {
          if (req.httpVersion === '2.0') req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          else req.socket.destroy();
          return;
        }
        const { reply, delayMs } = outcome;
        if (!delayMs) return write(res, reply);
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) write(res, reply);
        }, delayMs);
        timers.add(timer);
      });
    },
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: cert,
    projectId,
    serviceAccount: account.serviceAccount,
    requestsByProtocol: counts,
    get messages() {
      return backend.messages;
    },
    get tokensIssued() {
      return backend.tokensIssued;
    },
    attempts: backend.attempts,
    fail: backend.fail,
    clearFaults: backend.clearFaults,
    openConnections: () => sockets.size,
    reset() {
      backend.reset();
      counts.h2 = 0;
      counts['http/1.1'] = 0;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      return closed;
    },
  };
}

function write(res: http2.Http2ServerResponse, reply: FcmReply): void {
  const payload = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(payload)) });
  res.end(payload);
}
