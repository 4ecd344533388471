import { describe, expect, it } from 'vitest';
import { retryDelay } from './backoff.js';

describe('retryDelay', () => {
  it('is full jitter over an exponentially growing, capped ceiling', () => {
    const policy = { baseMs: 1000, capMs: 10_000 };
    expect(retryDelay(1, undefined, policy, () => 0.999)).toBe(999);
    expect(retryDelay(3, undefined, policy, () => 0.999)).toBe(3996);
    expect(retryDelay(10, undefined, policy, () => 0.999)).toBe(9990);
    expect(retryDelay(50, undefined, policy, () => 0)).toBe(0);
  });

  it('spreads retries: many draws cover the interval instead of piling up', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 1000 }, () => retryDelay(4, undefined, {}, random));
    expect(Math.min(...delays)).toBeLessThan(400);
    expect(Math.max(...delays)).toBeGreaterThan(7600);
    expect(Math.max(...delays)).toBeLessThan(8000);
  });

  it('honours Retry-After exactly, capped by maxRetryAfterMs', () => {
    expect(retryDelay(1, 30_000, {}, () => 0.5)).toBe(30_000);
    expect(retryDelay(1, 0, {}, () => 0.5)).toBe(0);
    expect(retryDelay(1, 86_400_000, { maxRetryAfterMs: 3_600_000 }, () => 0.5)).toBe(3_600_000);
  });
});
