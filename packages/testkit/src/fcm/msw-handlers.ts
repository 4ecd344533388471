import { delay, HttpResponse, http, type RequestHandler } from 'msw';
import { createFcmBackend, type FcmBackend } from './fcm-backend.js';
import type { FcmReply } from './fcm-errors.js';
import { createTestServiceAccount, type TestServiceAccount, type TestServiceAccountPair } from './service-account.js';

/** Options of {@link fcmHandlers}. */
export interface FcmHandlersOptions {
  /** Default `idrelay-test`. */
  projectId?: string;
  /** The service account to accept; default a fresh one. */
  serviceAccount?: TestServiceAccountPair;
  /** `expires_in` of issued access tokens; default 3599. */
  tokenTtlSeconds?: number;
  /** Clock for token expiry; default `Date.now`. */
  now?: () => number;
}

/** msw handlers for FCM plus the controls of the backend behind them. */
export interface FcmMswHandlers extends Omit<FcmBackend, 'token' | 'send'> {
  /** Pass to `setupServer(...handlers)` or `server.use(...handlers)`. */
  readonly handlers: RequestHandler[];
  readonly projectId: string;
  /** A service-account key file the token endpoint accepts. */
  readonly serviceAccount: TestServiceAccount;
}

/**
 * msw request handlers for https://oauth2.googleapis.com/token and
 * https://fcm.googleapis.com/v1/projects/{project}/messages:send, with the same validation, recording and faults
 * as {@link startFcmStandIn}. msw intercepts HTTP/1.1 only: call `messaging.enableLegacyHttpTransport()` (the FCM
 * transport's `legacyHttpTransport: true`) or `sendEach` goes over HTTP/2, is not intercepted and never settles.
 *
 * @example
 * ```ts
 * const fcm = fcmHandlers();
 * const server = setupServer(...fcm.handlers);
 * server.listen({ onUnhandledFrame: 'error' });
 * fcm.fail('token-gone', { kind: 'unregistered' });
 * ```
 * @see https://mswjs.io/docs/api/setup-server
 */
export function fcmHandlers(options: FcmHandlersOptions = {}): FcmMswHandlers {
  const projectId = options.projectId ?? 'idrelay-test';
  const account = options.serviceAccount ?? createTestServiceAccount({ projectId });
  const backend = createFcmBackend({
    projectId,
    clientEmail: account.serviceAccount.client_email,
    publicKey: account.publicKey,
    ...(options.tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds: options.tokenTtlSeconds }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const respond = (reply: FcmReply) =>
    HttpResponse.json(reply.body as never, { status: reply.status, headers: reply.headers });

  const handlers: RequestHandler[] = [
    http.post('https://oauth2.googleapis.com/token', async ({ request }) =>
      respond(backend.token(await request.text())),
    ),
    http.post('https://fcm.googleapis.com/v1/projects/:project/messages\\:send', async ({ request, params }) => {
      const outcome = backend.send(
        String(params.project),
        request.headers.get('authorization') ?? undefined,
        await request.text(),
      );
      if (outcome.type === 'reset') return HttpResponse.error();
      if (outcome.delayMs) await delay(outcome.delayMs);
      return respond(outcome.reply);
    }),
  ];

  return {
    handlers,
    projectId,
    serviceAccount: account.serviceAccount,
    get messages() {
      return backend.messages;
    },
    get tokensIssued() {
      return backend.tokensIssued;
    },
    attempts: backend.attempts,
    fail: backend.fail,
    clearFaults: backend.clearFaults,
    reset: backend.reset,
  };
}
