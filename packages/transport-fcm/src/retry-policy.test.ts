import { describe, expect, it } from 'vitest';
import { retryPolicy } from './retry-policy.js';

describe('retry policy', () => {
  it('defaults to 3 attempts, 500 ms base, 5 s in-process ceiling; false means one attempt', () => {
    expect(retryPolicy(undefined)).toEqual({ attempts: 3, baseDelayMs: 500, maxDelayMs: 5000 });
    expect(retryPolicy(false)).toMatchObject({ attempts: 1 });
  });

  it('refuses nonsense', () => {
    expect(retryPolicy({ attempts: 0 })).toEqual(expect.any(String));
    expect(retryPolicy({ baseDelayMs: -1 })).toEqual(expect.any(String));
  });
});
