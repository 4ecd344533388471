import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 10_000 };

  it('is full jitter over a ceiling that doubles per retry up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, () => 0.999))).toEqual([999, 1998, 3996, 7992, 9990]);
    expect(backoffDelay(50, policy, () => 0)).toBe(0);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(4000);
  });

  it('spreads retries: many draws cover the interval instead of piling up', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 1000 }, () => backoffDelay(4, policy, random));
    expect(Math.min(...delays)).toBeLessThan(400);
    expect(Math.max(...delays)).toBeGreaterThan(7600);
    expect(Math.max(...delays)).toBeLessThan(8000);
  });

  it('property: a whole number of ms in [0, min(cap, base·2^(retry−1))), rising with the random draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.nat({ max: 60_000 }),
        fc.nat({ max: 86_400_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, baseDelayMs, maxDelayMs, a, b) => {
          const steps = { baseDelayMs, maxDelayMs };
          const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(0, retry - 1), 30));
          const low = backoffDelay(retry, steps, () => Math.min(a, b));
          const high = backoffDelay(retry, steps, () => Math.max(a, b));
          expect(Number.isInteger(low)).toBe(true);
          expect(low).toBeGreaterThanOrEqual(0);
          expect(low).toBeLessThanOrEqual(high);
          expect(high).toBeLessThan(Math.max(ceiling, 1));
        },
      ),
    );
  });

  it('stays within the cap even when an injected random returns 1', () => {
    expect(backoffDelay(3, policy, () => 1)).toBe(3999);
  });
});
