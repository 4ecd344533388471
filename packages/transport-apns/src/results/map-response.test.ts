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
      { status: 'invalid-token', code: 'ERR_APNS_UNREGISTERED' },
    ],
    [
      { status: 400, reason: 'BadDeviceToken' },
      { status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN' },
    ],
    [
      { status: 400, reason: 'DeviceTokenNotForTopic' },
      { status: 'invalid-token', code: 'ERR_APNS_BAD_DEVICE_TOKEN' },
    ],
    [
      { status: 429, reason: 'TooManyRequests', retryAfterMs: 5000 },
      { status: 'retry-after', code: 'TooManyRequests', retryAfterMs: 5000 },
    ],
    [
      { status: 429, reason: 'TooManyProviderTokenUpdates' },
      { status: 'retry-after', code: 'TooManyProviderTokenUpdates' },
    ],
    [{ status: 500 }, { status: 'retry-after', code: 'InternalServerError' }],
    [
      { status: 503, reason: 'Shutdown' },
      { status: 'retry-after', code: 'Shutdown' },
    ],
    [
      { status: 403, reason: 'ExpiredProviderToken' },
      { status: 'rejected', code: 'ExpiredProviderToken' },
    ],
    [
      { status: 403, reason: 'InvalidProviderToken' },
      { status: 'rejected', code: 'InvalidProviderToken' },
    ],
    [
      { status: 413, reason: 'PayloadTooLarge' },
      { status: 'rejected', code: 'PayloadTooLarge' },
    ],
    [
      { status: 400, reason: 'BadCollapseId' },
      { status: 'rejected', code: 'BadCollapseId' },
    ],
    [{ status: 405 }, { status: 'rejected', code: 'MethodNotAllowed' }],
  ])('%o → %o', (response, expected) => {
    expect(mapApnsResponse('d1', response)).toMatchObject({ deviceId: 'd1', ...expected });
  });
});
