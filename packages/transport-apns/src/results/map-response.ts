import type { DeliveryResult } from '@idrelay/core';

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
 * Turns an APNs response into a {@link DeliveryResult}:
 *
 * | APNs | result | code |
 * |---|---|---|
 * | 200 | `delivered` (`providerMessageId` = `apns-id`) | |
 * | 410 `Unregistered` | `invalid-token` | `ERR_APNS_UNREGISTERED` |
 * | 400 `BadDeviceToken`, `DeviceTokenNotForTopic` | `invalid-token` | `ERR_APNS_BAD_DEVICE_TOKEN` |
 * | 429, 5xx | `retry-after` (`retryAfterMs` from `Retry-After`) | the APNs reason, e.g. `TooManyRequests` |
 * | anything else | `rejected` | the APNs reason, e.g. `BadTopic`, `InvalidProviderToken` |
 *
 * `403 ExpiredProviderToken` is handled before this (refresh and one retry); if it remains, it is `rejected`.
 *
 * @see https://developer.apple.com/documentation/usernotifications/handling-error-responses-from-apns
 * @example
 * ```ts
 * mapApnsResponse('ipad-1', { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 });
 * // → { deviceId: 'ipad-1', status: 'invalid-token', code: 'ERR_APNS_UNREGISTERED', reason: 'Unregistered …' }
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
  if (status === 410) {
    const since = response.timestamp === undefined ? '' : ` since ${new Date(response.timestamp).toISOString()}`;
    return { deviceId, status: 'invalid-token', code: 'ERR_APNS_UNREGISTERED', reason: `${reason}${since}` };
  }
  if (status === 400 && (reason === 'BadDeviceToken' || reason === 'DeviceTokenNotForTopic')) {
    return { deviceId, status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN', reason };
  }
  if (isRetryable(status)) {
    const result: DeliveryResult = {
      deviceId,
      status: 'retry-after',
      code: reason,
      reason: `APNs ${status} ${reason}`,
    };
    if (response.retryAfterMs !== undefined) result.retryAfterMs = response.retryAfterMs;
    return result;
  }
  return { deviceId, status: 'rejected', code: reason, reason: `APNs ${status} ${reason}` };
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
