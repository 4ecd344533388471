import { describe, expect, it } from 'vitest';
import { mapResponse } from './map-response.js';

describe('mapResponse', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  it('carries Retry-After as retryAfterMs, seconds or HTTP date', () => {
    expect(mapResponse('d', 429, { 'retry-after': '120' }, '', now)).toMatchObject({ retryAfterMs: 120_000 });
    expect(mapResponse('d', 503, { 'retry-after': 'Mon, 23 Nov 2026 12:00:30 GMT' }, '', now)).toMatchObject({
      retryAfterMs: 30_000,
    });
  });

  it('ignores a malformed Retry-After ("-3") instead of reading it as "retry now"', () => {
    const result = mapResponse('d', 429, { 'retry-after': '-3' }, '', now);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_WEBPUSH_RATE_LIMITED' });
    expect(result).not.toHaveProperty('retryAfterMs');
  });
});
