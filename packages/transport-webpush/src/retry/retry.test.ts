import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter, sleep } from './retry.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds and the three HTTP-date forms (RFC 9110 §10.2.3, §5.6.7)', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(['5', '9'], NOW)).toBe(5000);
    expect(parseRetryAfter(30, NOW)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Monday, 23-Nov-26 12:00:45 GMT', NOW)).toBe(45_000);
    expect(parseRetryAfter('Mon Nov 23 12:01:00 2026', NOW)).toBe(60_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', NOW)).toBe(0);
  });

  it('refuses what is not a Retry-After, rather than retrying at once', () => {
    for (const value of ['-3', '3.5', '1e3', '', 'soon', 'Mon, 23 Nov 2026', '23 Nov 2026 12:00:30 GMT']) {
      expect(parseRetryAfter(value, NOW), JSON.stringify(value)).toBeUndefined();
    }
    for (const value of [undefined, null, -3, 1.5, {}, []]) {
      expect(parseRetryAfter(value, NOW), JSON.stringify(value)).toBeUndefined();
    }
  });
});

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 5000 };
  it('doubles per retry with equal jitter, capped, and never below Retry-After', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([500, 1000, 2000, 2500]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([1000, 2000, 4000, 5000]);
    expect(backoffDelay(1, policy, () => 0, 3000)).toBe(3000);
  });
});

describe('sleep', () => {
  it('resolves true when the time is up and false at once when aborted', async () => {
    await expect(sleep(0)).resolves.toBe(true);
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBe(false);
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBe(false);
  });
});
