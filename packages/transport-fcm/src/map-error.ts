import type { ErrorCode } from '@idrelay/core';
import { parseRetryAfter } from '@idrelay/core';

/**
 * What one firebase-admin failure means for a delivery: `code` is an idrelay error code; `reason` is firebase-admin's
 * own code followed by its message (`messaging/registration-token-not-registered: Requested entity was not found.`),
 * so logs still match Firebase's documentation.
 *
 * @see https://firebase.google.com/docs/cloud-messaging/send/admin-sdk#admin_sdk_error_reference
 */
export type FcmFailure =
  | { status: 'invalid-token'; code: ErrorCode; reason: string }
  | { status: 'retry-after'; code: ErrorCode; reason: string; retryAfterMs?: number }
  | { status: 'rejected'; code: ErrorCode; reason: string };

/** The token is gone or malformed: the device should be pruned. */
const INVALID_TOKEN = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);

/** Worth another try: quota (429), FCM 503/500 and transport failures, with the idrelay code each becomes. */
const RETRYABLE = new Map<string, ErrorCode>([
  ['messaging/message-rate-exceeded', 'ERR_FCM_RATE_LIMITED'],
  ['messaging/server-unavailable', 'ERR_FCM_SERVICE_UNAVAILABLE'],
  ['messaging/internal-error', 'ERR_FCM_SERVICE_UNAVAILABLE'],
  ['app/network-error', 'ERR_TRANSPORT_NETWORK'],
  ['app/network-timeout', 'ERR_TRANSPORT_TIMEOUT'],
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
 * Classifies a failed `SendResponse.error` from firebase-admin: unregistered or invalid tokens → `invalid-token`
 * `ERR_FCM_INVALID_TOKEN`; rate limits → `retry-after` `ERR_FCM_RATE_LIMITED`, FCM 500/503 →
 * `ERR_FCM_SERVICE_UNAVAILABLE`, network failures and timeouts → `ERR_TRANSPORT_NETWORK` / `ERR_TRANSPORT_TIMEOUT`,
 * all with the service's `Retry-After`; credential failures → `ERR_FCM_CREDENTIALS`; everything else → `rejected`
 * `ERR_FCM_REJECTED`. firebase-admin's own code leads `reason`.
 *
 * @example
 * ```ts
 * mapFcmError(response.error, Date.now());
 * // { status: 'invalid-token', code: 'ERR_FCM_INVALID_TOKEN', reason: 'messaging/registration-token-not-registered: …' }
 * ```
 */
export function mapFcmError(error: unknown, nowMs: number): FcmFailure {
  const e = (error ?? {}) as FirebaseLikeError;
  const sdkCode = typeof e.code === 'string' ? e.code : 'messaging/unknown-error';
  const message = typeof e.message === 'string' ? e.message : String(error);
  const reason = `${sdkCode}: ${message}`;
  if (INVALID_TOKEN.has(sdkCode)) return { status: 'invalid-token', code: 'ERR_FCM_INVALID_TOKEN', reason };
  const retryable = RETRYABLE.get(sdkCode) ?? (isSessionFailure(e) ? 'ERR_TRANSPORT_NETWORK' : undefined);
  if (retryable !== undefined) {
    const retryAfterMs = parseRetryAfter(e.httpResponse?.headers?.['retry-after'], nowMs);
    return retryAfterMs === undefined
      ? { status: 'retry-after', code: retryable, reason }
      : { status: 'retry-after', code: retryable, reason, retryAfterMs };
  }
  if (sdkCode === 'app/invalid-credential') {
    return isCredentialRefusal(e)
      ? { status: 'rejected', code: 'ERR_FCM_CREDENTIALS', reason }
      : { status: 'retry-after', code: 'ERR_FCM_CREDENTIALS', reason };
  }
  return { status: 'rejected', code: 'ERR_FCM_REJECTED', reason };
}
