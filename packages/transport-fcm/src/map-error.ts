import { parseRetryAfter } from './retry/retry.js';

/**
 * What one firebase-admin failure means for a delivery. firebase-admin's codes are kept as our `code` so that
 * logs match Firebase's documentation.
 *
 * @see https://firebase.google.com/docs/cloud-messaging/send/admin-sdk#admin_sdk_error_reference
 */
export type FcmFailure =
  | { status: 'invalid-token'; code: string; reason: string }
  | { status: 'retry-after'; code: string; reason: string; retryAfterMs?: number }
  | { status: 'rejected'; code: string; reason: string };

/** The token is gone or malformed: the device should be pruned. */
const INVALID_TOKEN = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);

/** Worth another try: quota (429), FCM 503/500 and transport failures. firebase-admin retries only 503 and resets. */
const RETRYABLE = new Set([
  'messaging/message-rate-exceeded',
  'messaging/server-unavailable',
  'messaging/internal-error',
  'app/network-error',
  'app/network-timeout',
]);

interface FirebaseLikeError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  httpResponse?: { status?: number; headers?: Record<string, unknown> };
}

/**
 * When an HTTP/2 session fails (refused connection, TLS error, GOAWAY), firebase-admin reports every affected
 * message as `messaging/unknown-error` with an AggregateError of `app/network-error`s as its cause; that is a
 * network failure, not a refusal.
 */
function isSessionFailure(error: FirebaseLikeError): boolean {
  const cause = error.cause as { errors?: unknown } | undefined;
  return (
    error.code === 'messaging/unknown-error' &&
    Array.isArray(cause?.errors) &&
    cause.errors.some((e) => (e as FirebaseLikeError | null)?.code === 'app/network-error')
  );
}

/** A token-endpoint refusal (`invalid_grant`, 4xx) is final; anything else reaching it may pass later. */
function isCredentialRefusal(error: FirebaseLikeError): boolean {
  const cause = error.cause as { status?: unknown; response?: { status?: unknown } } | undefined;
  const status = cause?.response?.status ?? cause?.status;
  return (
    (typeof status === 'number' && status >= 400 && status < 500) || String(error.message).includes('invalid_grant')
  );
}

/**
 * Classifies a failed `SendResponse.error` from firebase-admin: unregistered or invalid tokens → `invalid-token`;
 * rate limits, FCM 500/503 and network failures → `retry-after` with the service's `Retry-After`; credential
 * failures → `ERR_FCM_CREDENTIALS`; everything else → `rejected` with firebase-admin's code.
 *
 * @example
 * ```ts
 * mapFcmError(response.error, Date.now()); // { status: 'invalid-token', code: 'messaging/registration-token-not-registered', … }
 * ```
 */
export function mapFcmError(error: unknown, nowMs: number): FcmFailure {
  const e = (error ?? {}) as FirebaseLikeError;
  const code = typeof e.code === 'string' ? e.code : 'messaging/unknown-error';
  const reason = typeof e.message === 'string' ? e.message : String(error);
  if (INVALID_TOKEN.has(code)) return { status: 'invalid-token', code, reason };
  if (RETRYABLE.has(code) || isSessionFailure(e)) {
    const retryAfterMs = parseRetryAfter(e.httpResponse?.headers?.['retry-after'], nowMs);
    const mapped = RETRYABLE.has(code) ? code : 'app/network-error';
    return retryAfterMs === undefined
      ? { status: 'retry-after', code: mapped, reason }
      : { status: 'retry-after', code: mapped, reason, retryAfterMs };
  }
  if (code === 'app/invalid-credential') {
    return isCredentialRefusal(e)
      ? { status: 'rejected', code: 'ERR_FCM_CREDENTIALS', reason }
      : { status: 'retry-after', code: 'ERR_FCM_CREDENTIALS', reason };
  }
  return { status: 'rejected', code, reason };
}
