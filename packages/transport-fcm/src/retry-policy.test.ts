import { describe, expect, it } from 'vitest';
import { backoffDelay, retryPolicy } from './retry-policy.js';

describe('retry policy', () => {
  it('defaults to 3 attempts, 500 ms base, 5 s in-process ceiling; false means one attempt', () => {
    expect(retryPolicy(undefined)).toEqual({ attempts: 3, baseDelayMs: 500, maxDelayMs: 5000 });
    expect(retryPolicy(false)).toMatchObject({ attempts: 1 });
  });

  it('refuses nonsense', () => {
    expect(retryPolicy({ attempts: 0 })).toEqual(expect.any(String));
    expect(retryPolicy({ baseDelayMs: -1 })).toEqual(expect.any(String));
  });

  it('doubles each retry with equal jitter, capped, and never shorter than Retry-After', () => {
    const policy = { attempts: 10, baseDelayMs: 1000, maxDelayMs: 5000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([500, 1000, 2000, 2500]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([1000, 2000, 4000, 5000]);
    expect(backoffDelay(1, policy, () => 0, 3000)).toBe(3000);
  });
});
