import type { DeliveryResult } from '@idrelay/core';
import { parseRetryAfter } from '@idrelay/core';

/**
 * Maps a push service's answer to a delivery result (RFC 8030 §5, §7; RFC 8292 §4.2 for 403):
 * 201/202 → delivered; 404/410 → invalid-token; 429, 5xx → retry-after (with `Retry-After` when sent);
 * 403 → rejected `ERR_WEBPUSH_VAPID_REJECTED`; 413 and other 4xx → rejected.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8030#section-7.3 (404/410) and RFC 9110 §10.2.3 (Retry-After)
 * @example
 * ```ts
 * mapResponse('d1', 410, {}, '', Date.now()); // { deviceId: 'd1', status: 'invalid-token', … }
 * ```
 */
export function mapResponse(
  deviceId: string,
  status: number,
  headers: { location?: string | undefined; 'retry-after'?: string | undefined },
  body: string,
  nowMs: number,
): DeliveryResult {
  if (status >= 200 && status < 300) {
    return headers.location
      ? { deviceId, status: 'delivered', providerMessageId: headers.location }
      : { deviceId, status: 'delivered' };
  }
  const reason = `${status}${body ? ` ${body.slice(0, 200)}` : ''}`;
  if (status === 404 || status === 410)
    return { deviceId, status: 'invalid-token', code: 'ERR_WEBPUSH_SUBSCRIPTION_GONE', reason };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(headers['retry-after'], nowMs);
    const code = status === 429 ? 'ERR_WEBPUSH_RATE_LIMITED' : 'ERR_WEBPUSH_SERVICE_UNAVAILABLE';
    return retryAfterMs === undefined
      ? { deviceId, status: 'retry-after', code, reason }
      : { deviceId, status: 'retry-after', code, reason, retryAfterMs };
  }
  if (status === 403) return { deviceId, status: 'rejected', code: 'ERR_WEBPUSH_VAPID_REJECTED', reason };
  if (status === 413) return { deviceId, status: 'rejected', code: 'ERR_WEBPUSH_PAYLOAD_REJECTED', reason };
  return { deviceId, status: 'rejected', code: 'ERR_WEBPUSH_REJECTED', reason };
}
