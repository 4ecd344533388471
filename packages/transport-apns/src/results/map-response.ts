import type { DeliveryResult, ErrorCode } from '@idrelay/core';

/** What APNs answered for one request, reduced to what decides the outcome. */
export interface ApnsResponse {
  status: number;
  /** `apns-id` response header. */
  apnsId?: string;
  /** `reason` from the JSON error body. */
  reason?: string;
  /** `timestamp` from a 410 body: when the token stopped being valid (ms since the epoch). */
  timestamp?: number;
  /** `Retry-After` response header, already converted to ms. */
  retryAfterMs?: number;
}

/**
 * Turns an APNs response into a {@link DeliveryResult}. `code` is always an idrelay error code (one `switch` covers
 * every transport); APNs' own reason travels verbatim in `reason`:
 *
 * | APNs | result | code |
 * |---|---|---|
 * | 200 | `delivered` (`providerMessageId` = `apns-id`) | |
 * | 410 `Unregistered` | `invalid-token` | `ERR_APNS_UNREGISTERED` |
 * | 400 `BadDeviceToken`, `DeviceTokenNotForTopic` | `invalid-token` | `ERR_APNS_BAD_DEVICE_TOKEN` |
 * | 429 `TooManyRequests`, `TooManyProviderTokenUpdates` | `retry-after` (`retryAfterMs` from `Retry-After`) | `ERR_APNS_RATE_LIMITED` |
 * | 500, 503 (`InternalServerError`, `ServiceUnavailable`, `Shutdown`) | `retry-after` | `ERR_APNS_SERVICE_UNAVAILABLE` |
 * | 403 (`InvalidProviderToken`, `ExpiredProviderToken`, …) | `rejected` | `ERR_APNS_PROVIDER_TOKEN` |
 * | 413 `PayloadTooLarge` | `rejected` | `ERR_APNS_PAYLOAD_TOO_LARGE` |
 * | 400 `BadCollapseId` | `rejected` | `ERR_APNS_BAD_COLLAPSE_ID` |
 * | anything else (`BadTopic`, `TopicDisallowed`, …) | `rejected` | `ERR_APNS_REJECTED` |
 *
 * `403 ExpiredProviderToken` is handled before this (refresh and one retry); if it remains, it is `rejected`.
 *
 * @see https://developer.apple.com/documentation/usernotifications/handling-error-responses-from-apns
 * @example
 * ```ts
 * mapApnsResponse('ipad-1', { status: 429, reason: 'TooManyRequests', retryAfterMs: 5000 });
 * // → { deviceId: 'ipad-1', status: 'retry-after', code: 'ERR_APNS_RATE_LIMITED', reason: 'TooManyRequests', retryAfterMs: 5000 }
 * ```
 */
export function mapApnsResponse(deviceId: string, response: ApnsResponse): DeliveryResult {
  const { status } = response;
  if (status === 200) {
    return response.apnsId === undefined
      ? { deviceId, status: 'delivered' }
      : { deviceId, status: 'delivered', providerMessageId: response.apnsId };
  }
  const reason = response.reason ?? statusReason(status);
  if (status === 410) return { deviceId, status: 'invalid-token', code: 'ERR_APNS_UNREGISTERED', reason };
  if (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic')) {
    return { deviceId, status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN', reason };
  }
  if (isRetryable(status)) {
    const code = status === 429 ? 'ERR_APNS_RATE_LIMITED' : 'ERR_APNS_SERVICE_UNAVAILABLE';
    return response.retryAfterMs === undefined
      ? { deviceId, status: 'retry-after', code, reason }
      : { deviceId, status: 'retry-after', code, reason, retryAfterMs: response.retryAfterMs };
  }
  return { deviceId, status: 'rejected', code: rejectionCode(status, reason), reason };
}

function rejectionCode(status: number, reason: string): ErrorCode {
  if (status === 403) return 'ERR_APNS_PROVIDER_TOKEN';
  if (status === 413) return 'ERR_APNS_PAYLOAD_TOO_LARGE';
  if (reason === 'BadCollapseId') return 'ERR_APNS_BAD_COLLAPSE_ID';
  return 'ERR_APNS_REJECTED';
}

/**
 * 429 and 5xx: the same request may succeed later.
 *
 * @example
 * ```ts
 * isRetryable(503); // true
 * isRetryable(400); // false
 * ```
 */
export function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}

// When a body has no reason (a proxy, a truncated response), name the status the way APNs would.
function statusReason(status: number): string {
  switch (status) {
    case 403:
      return 'Forbidden';
    case 404:
      return 'BadPath';
    case 405:
      return 'MethodNotAllowed';
    case 410:
      return 'Unregistered';
    case 413:
      return 'PayloadTooLarge';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalServerError';
    case 503:
      return 'ServiceUnavailable';
    default:
      return `HTTP${status}`;
  }
}
