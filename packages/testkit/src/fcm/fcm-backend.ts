import { randomBytes } from 'node:crypto';
import { type FcmReply, fcmErrorReply } from './fcm-errors.js';
import { GOOGLE_TOKEN_URL, verifyServiceAccountAssertion } from './oauth-assertion.js';
import { validateFcmSendBody } from './validate-message.js';

/**
 * A failure the FCM stand-in plays for one registration token, with FCM's real status and error body.
 * `invalid-registration` is the legacy `InvalidRegistration` code that firebase-admin still maps to
 * `messaging/invalid-registration-token` (FCM v1 itself reports a malformed token as INVALID_ARGUMENT).
 */
export type FcmFault =
  | { kind: 'unregistered' }
  | { kind: 'invalid-argument'; message?: string }
  | { kind: 'invalid-registration' }
  | { kind: 'quota-exceeded'; retryAfterSeconds?: number }
  | { kind: 'unavailable'; retryAfterSeconds?: number }
  | { kind: 'internal' }
  | { kind: 'sender-id-mismatch' }
  /** Answers normally after `delayMs`. */
  | { kind: 'slow'; delayMs: number }
  /** Resets the stream (HTTP/2 RST_STREAM) or the connection (HTTP/1.1). */
  | { kind: 'reset' };

/** How often a scripted fault fires before the token behaves normally again. */
export interface FaultOptions {
  /** Default: every time. */
  times?: number;
}

/** One message FCM accepted, as the stand-in recorded it (wire format, snake_case). */
export interface RecordedFcmMessage {
  project: string;
  /** `projects/{project}/messages/{id}`, as returned to the sender. */
  name: string;
  message: Record<string, unknown>;
  validateOnly: boolean;
  /** `Date.now()` (or the injected clock) when it was accepted. */
  receivedAt: number;
}

/** What the backend decided for one request: a reply (possibly delayed) or a reset. */
export type FcmOutcome = { type: 'reply'; reply: FcmReply; delayMs?: number } | { type: 'reset' };

/** Options shared by the stand-in and the msw handlers. */
export interface FcmBackendOptions {
  /** The project `messages:send` accepts; others get 403 PERMISSION_DENIED. */
  projectId: string;
  /** The service account whose assertions the token endpoint accepts. */
  clientEmail: string;
  publicKey: string;
  /** Accepted assertion audiences; default Google's token URL. */
  audiences?: readonly string[];
  /** `expires_in` of issued access tokens; default 3599 s, as Google answers. */
  tokenTtlSeconds?: number;
  /** Clock for token expiry and records; default `Date.now`. */
  now?: () => number;
}

/** The protocol logic of the FCM stand-in, shared by the TLS server and the msw handlers. */
export interface FcmBackend {
  readonly messages: readonly RecordedFcmMessage[];
  /** Access tokens issued so far. */
  readonly tokensIssued: number;
  /** `messages:send` requests that named `registrationToken`, whatever the answer (faults and refusals too). */
  attempts(registrationToken: string): number;
  /** `POST /token` with a form body. */
  token(formBody: string): FcmReply;
  /** `POST /v1/projects/{project}/messages:send`. */
  send(project: string, authorization: string | undefined, body: string): FcmOutcome;
  fail(registrationToken: string, fault: FcmFault, options?: FaultOptions): void;
  clearFaults(): void;
  /** Forgets messages, attempts and faults; issued access tokens stay valid, as they would at Google. */
  reset(): void;
}

/**
 * Creates the FCM protocol logic: an OAuth2 token endpoint for JWT-bearer assertions and `messages:send` with
 * FCM's validation, bearer check, recording and scripted faults.
 *
 * @example
 * ```ts
 * const backend = createFcmBackend({ projectId: 'p', clientEmail, publicKey });
 * backend.fail('token-1', { kind: 'unregistered' });
 * ```
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
 */
export function createFcmBackend(options: FcmBackendOptions): FcmBackend {
  const now = options.now ?? Date.now;
  const audiences = options.audiences ?? [GOOGLE_TOKEN_URL];
  const ttl = options.tokenTtlSeconds ?? 3599;
  const accessTokens = new Map<string, number>();
  const faults = new Map<string, { fault: FcmFault; left: number }>();
  const messages: RecordedFcmMessage[] = [];
  const attempts = new Map<string, number>();
  let tokensIssued = 0;

  const json = (status: number, body: unknown): FcmReply => ({
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body,
  });

  function faultFor(token: unknown): FcmFault | undefined {
    if (typeof token !== 'string') return undefined;
    const entry = faults.get(token);
    if (!entry) return undefined;
    if (--entry.left <= 0) faults.delete(token);
    return entry.fault;
  }

  function accept(project: string, message: Record<string, unknown>, validateOnly: boolean): FcmReply {
    const name = `projects/${project}/messages/${randomBytes(8).toString('hex')}`;
    messages.push({ project, name, message, validateOnly, receivedAt: now() });
    return json(200, { name });
  }

  return {
    get messages() {
      return messages;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    token(formBody) {
      const form = new URLSearchParams(formBody);
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        return json(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type.' });
      }
      const problem = verifyServiceAccountAssertion(form.get('assertion') ?? '', {
        publicKey: options.publicKey,
        clientEmail: options.clientEmail,
        audiences,
        now,
      });
      if (problem) return json(400, { error: 'invalid_grant', error_description: problem });
      const accessToken = `ya29.standin-${randomBytes(24).toString('base64url')}`;
      accessTokens.set(accessToken, now() + ttl * 1000);
      tokensIssued++;
      return json(200, { access_token: accessToken, expires_in: ttl, token_type: 'Bearer' });
    },
    send(project, authorization, body) {
      const bearer = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      const expires = bearer === undefined ? undefined : accessTokens.get(bearer);
      if (expires === undefined || expires <= now()) {
        const message =
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
        return { type: 'reply', reply: fcmErrorReply(401, message) };
      }
      if (project !== options.projectId) {
        const message = `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`;
        return { type: 'reply', reply: fcmErrorReply(403, message) };
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { type: 'reply', reply: fcmErrorReply(400, 'Invalid JSON payload received.') };
      }
      const named = (parsed as { message?: { token?: unknown } } | null)?.message?.token;
      if (typeof named === 'string') attempts.set(named, (attempts.get(named) ?? 0) + 1);
      const problem = validateFcmSendBody(parsed);
      if (problem) return { type: 'reply', reply: fcmErrorReply(400, problem, 'INVALID_ARGUMENT') };
      const request = parsed as { message: Record<string, unknown>; validate_only?: boolean };
      const fault = faultFor(request.message.token);
      const reply = fault === undefined ? undefined : faultReply(fault);
      if (fault?.kind === 'reset') return { type: 'reset' };
      if (reply) return { type: 'reply', reply };
      const accepted = accept(project, request.message, request.validate_only === true);
      return fault?.kind === 'slow'
        ? { type: 'reply', reply: accepted, delayMs: fault.delayMs }
        : { type: 'reply', reply: accepted };
    },
    attempts(registrationToken) {
      return attempts.get(registrationToken) ?? 0;
    },
    fail(registrationToken, fault, faultOptions = {}) {
      faults.set(registrationToken, { fault, left: faultOptions.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults.clear();
    },
    reset() {
      faults.clear();
      messages.length = 0;
      attempts.clear();
    },
  };
}

const retryAfter = (seconds: number | undefined): Record<string, string> =>
  seconds === undefined ? {} : { 'retry-after': String(seconds) };

function faultReply(fault: FcmFault): FcmReply | undefined {
  switch (fault.kind) {
    case 'unregistered':
      return fcmErrorReply(404, 'Requested entity was not found.', 'UNREGISTERED');
    case 'invalid-argument':
      return fcmErrorReply(
        400,
        fault.message ?? 'The registration token is not a valid FCM registration token',
        'INVALID_ARGUMENT',
      );
    case 'invalid-registration':
      return fcmErrorReply(400, 'Invalid registration token.', 'InvalidRegistration');
    case 'quota-exceeded':
      return fcmErrorReply(
        429,
        'Quota exceeded for quota metric.',
        'QUOTA_EXCEEDED',
        retryAfter(fault.retryAfterSeconds),
      );
    case 'unavailable':
      return fcmErrorReply(
        503,
        'The service is currently unavailable.',
        'UNAVAILABLE',
        retryAfter(fault.retryAfterSeconds),
      );
    case 'internal':
      return fcmErrorReply(500, 'Internal error encountered.', 'INTERNAL');
    case 'sender-id-mismatch':
      return fcmErrorReply(403, 'SenderId mismatch', 'SENDER_ID_MISMATCH');
    case 'slow':
    case 'reset':
      return undefined;
  }
}
