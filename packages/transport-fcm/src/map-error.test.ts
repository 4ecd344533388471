import { describe, expect, it } from 'vitest';
import { mapFcmError } from './map-error.js';

// The real code paths (firebase-admin against the stand-in and msw) are in test/; these pin the shapes that are
// hard to provoke there.
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('mapFcmError', () => {
  it('treats an HTTP/2 session failure reported as messaging/unknown-error as a network error', () => {
    const cause = new AggregateError([
      new Error('stream'),
      Object.assign(new Error('ECONNREFUSED'), { code: 'app/network-error' }),
    ]);
    const error = Object.assign(new Error('Stream failure. Session failures: …'), {
      code: 'messaging/unknown-error',
      cause,
    });
    expect(mapFcmError(error, NOW)).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
  });

  it('keeps a plain unknown error final', () => {
    const error = Object.assign(new Error('?'), { code: 'messaging/unknown-error' });
    expect(mapFcmError(error, NOW)).toMatchObject({
      status: 'rejected',
      code: 'ERR_FCM_REJECTED',
      reason: 'messaging/unknown-error: ?',
    });
  });

  it('retries a token endpoint that could not be reached, but not one that refused the key', () => {
    const unreachable = Object.assign(new Error('… ECONNREFUSED …'), {
      code: 'app/invalid-credential',
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const refused = Object.assign(new Error('… "invalid_grant: Invalid JWT Signature." …'), {
      code: 'app/invalid-credential',
      cause: { response: { status: 400 } },
    });
    expect(mapFcmError(unreachable, NOW)).toMatchObject({ status: 'retry-after', code: 'ERR_FCM_CREDENTIALS' });
    expect(mapFcmError(refused, NOW)).toMatchObject({ status: 'rejected', code: 'ERR_FCM_CREDENTIALS' });
  });

  it('treats a network timeout like a network error', () => {
    const error = Object.assign(new Error('timeout of 15000ms exceeded'), { code: 'app/network-timeout' });
    expect(mapFcmError(error, NOW)).toMatchObject({
      status: 'retry-after',
      code: 'ERR_TRANSPORT_TIMEOUT',
      reason: 'app/network-timeout: timeout of 15000ms exceeded',
    });
  });

  it('ignores a malformed Retry-After ("-3") instead of reading it as "retry now"', () => {
    const error = Object.assign(new Error('quota'), {
      code: 'messaging/message-rate-exceeded',
      httpResponse: { status: 429, headers: { 'retry-after': '-3' } },
    });
    expect(mapFcmError(error, NOW)).not.toHaveProperty('retryAfterMs');
  });

  it('survives something that is not an error at all', () => {
    expect(mapFcmError(undefined, NOW)).toMatchObject({ status: 'rejected', code: 'ERR_FCM_REJECTED' });
  });
});
