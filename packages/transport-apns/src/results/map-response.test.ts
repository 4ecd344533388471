import { isErrorCode } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { mapApnsResponse } from './map-response.js';

describe('mapApnsResponse', () => {
  it.each([
    [
      { status: 200, apnsId: 'id-1' },
      { status: 'delivered', providerMessageId: 'id-1' },
    ],
    [
      { status: 410, reason: 'Unregistered' },
      { status: 'invalid-token', code: 'ERR_APNS_UNREGISTERED', reason: 'Unregistered' },
    ],
    [
      { status: 400, reason: 'BadDeviceToken' },
      { status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN', reason: 'BadDeviceToken' },
    ],
    [
      { status: 400, reason: 'DeviceTokenNotForTopic' },
      { status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN', reason: 'DeviceTokenNotForTopic' },
    ],
    [
      { status: 429, reason: 'TooManyRequests', retryAfterMs: 5000 },
      { status: 'retry-after', code: 'ERR_APNS_RATE_LIMITED', reason: 'TooManyRequests', retryAfterMs: 5000 },
    ],
    [
      { status: 429, reason: 'TooManyProviderTokenUpdates' },
      { status: 'retry-after', code: 'ERR_APNS_RATE_LIMITED', reason: 'TooManyProviderTokenUpdates' },
    ],
    [{ status: 500 }, { status: 'retry-after', code: 'ERR_APNS_SERVICE_UNAVAILABLE', reason: 'InternalServerError' }],
    [
      { status: 503, reason: 'Shutdown' },
      { status: 'retry-after', code: 'ERR_APNS_SERVICE_UNAVAILABLE', reason: 'Shutdown' },
    ],
    [
      { status: 403, reason: 'ExpiredProviderToken' },
      { status: 'rejected', code: 'ERR_APNS_PROVIDER_TOKEN', reason: 'ExpiredProviderToken' },
    ],
    [
      { status: 403, reason: 'InvalidProviderToken' },
      { status: 'rejected', code: 'ERR_APNS_PROVIDER_TOKEN', reason: 'InvalidProviderToken' },
    ],
    [
      { status: 413, reason: 'PayloadTooLarge' },
      { status: 'rejected', code: 'ERR_APNS_PAYLOAD_TOO_LARGE', reason: 'PayloadTooLarge' },
    ],
    [
      { status: 400, reason: 'BadCollapseId' },
      { status: 'rejected', code: 'ERR_APNS_BAD_COLLAPSE_ID', reason: 'BadCollapseId' },
    ],
    [
      { status: 400, reason: 'TopicDisallowed' },
      { status: 'rejected', code: 'ERR_APNS_REJECTED', reason: 'TopicDisallowed' },
    ],
    [{ status: 405 }, { status: 'rejected', code: 'ERR_APNS_REJECTED', reason: 'MethodNotAllowed' }],
  ])('%o → %o', (response, expected) => {
    const result = mapApnsResponse('d1', response);
    expect(result).toEqual({ deviceId: 'd1', ...expected });
    if (result.status !== 'delivered') expect(isErrorCode(result.code)).toBe(true);
  });
});
