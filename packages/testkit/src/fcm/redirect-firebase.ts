import { Agent, type AgentOptions } from 'node:https';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** Where {@link redirectFirebaseToStandIn} sends firebase-admin's traffic: a started FCM stand-in. */
export interface FirebaseRedirectTarget {
  readonly port: number;
  /** The stand-in's certificate (PEM), trusted for this traffic only. */
  readonly ca: string;
}

/** An active redirect. */
export interface FirebaseRedirect {
  /**
   * Pass as firebase-admin's `AppOptions.httpAgent` (and to `cert(serviceAccount, httpAgent)`): carries the OAuth
   * token fetch and the HTTP/1.1 `send()`/legacy `sendEach()` requests to the stand-in.
   */
  readonly httpAgent: Agent;
  /**
   * A new agent like `httpAgent`, owned by the caller (for a transport that destroys its agent on `close()`, or
   * to count one sender's sockets).
   */
  createHttpAgent(options?: AgentOptions): Agent;
  /** Puts `http2.connect` and `https.globalAgent` back and destroys the agent's sockets. */
  restore(): void;
}

type Connect = typeof import('node:http2').connect;

/** firebase-admin opens HTTP/2 sessions only to this origin (`FCM_SEND_HOST`, not configurable). */
const FCM_ORIGIN = 'https://fcm.googleapis.com';
const GOOGLE_HOSTS = new Set(['fcm.googleapis.com', 'oauth2.googleapis.com']);

/**
 * **Test-only.** Sends firebase-admin's FCM traffic to a local stand-in instead of Google, keeping firebase-admin's
 * own code path (OAuth token fetch, HTTP v1 requests, HTTP/2 `sendEach`):
 *
 * - HTTP/2: firebase-admin has no host option and `httpAgent` does not reach its HTTP/2 sessions, so this patches
 *   `http2.connect` on the module object firebase-admin `require`s; only sessions to https://fcm.googleapis.com are
 *   redirected. It also rewrites the `:scheme` pseudo-header firebase-admin sends as `"https:"` (with the colon —
 *   firebase-admin-node b/401051826) to `"https"`: Google's front end tolerates it, but nghttp2 in a node:http2
 *   server rejects the stream with PROTOCOL_ERROR before any handler runs.
 * - HTTP/1.1 and OAuth: an `https.Agent` whose connections to fcm.googleapis.com and oauth2.googleapis.com dial the
 *   stand-in (other hosts connect normally). It is returned as `httpAgent` and also installed as
 *   `https.globalAgent` while active, because firebase-admin drops `httpAgent` for the token fetch when the service
 *   account is an object rather than a file path.
 *
 * TLS stays verified: the stand-in's certificate names fcm.googleapis.com and oauth2.googleapis.com and is trusted
 * through `ca` for these connections only. The patch is process-wide while active: call `restore()` in
 * `afterAll`, and restore nested redirects in reverse order.
 *
 * @example
 * ```ts
 * const fcm = await startFcmStandIn();
 * const redirect = redirectFirebaseToStandIn(fcm);
 * const transport = createFcmTransport({
 *   projectId: fcm.projectId,
 *   serviceAccount: fcm.serviceAccount,
 *   httpAgent: redirect.httpAgent,
 * });
 * afterAll(async () => { await transport.close(); redirect.restore(); await fcm.close(); });
 * ```
 * @see https://github.com/firebase/firebase-admin-node/blob/master/src/utils/api-request.ts
 */
export function redirectFirebaseToStandIn(target: FirebaseRedirectTarget): FirebaseRedirect {
  // The CommonJS exports object is what firebase-admin's `require("http2")` returns; an ESM namespace is read-only.
  const http2 = createRequire(import.meta.url)('node:http2') as typeof import('node:http2');
  const dial = (servername: string, alpn: string) =>
    tls.connect({ host: '127.0.0.1', port: target.port, servername, ca: target.ca, ALPNProtocols: [alpn] });
  const original: Connect = http2.connect;

  const redirected = ((authority: string | URL, ...rest: unknown[]) => {
    const origin = typeof authority === 'string' ? new URL(authority).origin : authority.origin;
    if (origin !== FCM_ORIGIN) return (original as (...args: unknown[]) => unknown)(authority, ...rest);
    const listener = typeof rest[0] === 'function' ? rest[0] : rest[1];
    const options = typeof rest[0] === 'object' && rest[0] !== null ? rest[0] : {};
    // A redirect installed later (nested) has already chosen the socket; keep its choice.
    const session = original(authority, {
      createConnection: () => dial(new URL(origin).hostname, 'h2') as Duplex,
      ...options,
    });
    if (typeof listener === 'function') session.once('connect', listener as () => void);
    const request = session.request.bind(session);
    session.request = ((headers, requestOptions) =>
      request(
        !Array.isArray(headers) && (headers as Record<string, unknown> | undefined)?.[':scheme'] === 'https:'
          ? { ...headers, ':scheme': 'https' }
          : headers,
        requestOptions,
      )) as typeof session.request;
    return session;
  }) as Connect;
  http2.connect = redirected;

  class StandInAgent extends Agent {
    override createConnection(options: { host?: string | null }, callback?: unknown): Duplex | null | undefined {
      const host = options.host ?? '';
      if (GOOGLE_HOSTS.has(host)) return dial(host, 'http/1.1') as Duplex;
      return super.createConnection(options as never, callback as never);
    }
  }
  const httpAgent = new StandInAgent({ keepAlive: true });
  // firebase-admin 14.5 hands a service-account *object* to google-auth-library without its httpAgent, so the
  // OAuth fetch (node-fetch) goes through https.globalAgent; only the two Google hosts are diverted there, and
  // without keep-alive so that a token fetch leaves no socket behind.
  const https = createRequire(import.meta.url)('node:https') as typeof import('node:https');
  const originalGlobalAgent = https.globalAgent;
  const globalAgent = new StandInAgent({ keepAlive: false });
  https.globalAgent = globalAgent;

  return {
    httpAgent,
    createHttpAgent: (options) => new StandInAgent({ keepAlive: true, ...options }),
    restore() {
      if (http2.connect === redirected) http2.connect = original;
      if (https.globalAgent === globalAgent) https.globalAgent = originalGlobalAgent;
      httpAgent.destroy();
      globalAgent.destroy();
    },
  };
}
