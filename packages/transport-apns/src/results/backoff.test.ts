import { expect, it } from 'vitest';
import { createBackoff } from './backoff.js';

it('doubles the ceiling per attempt up to the maximum, with full jitter', () => {
  const top = createBackoff({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
  expect([1, 2, 3, 4, 5].map((n) => top.delay(n))).toEqual([99, 199, 399, 799, 999]);
  const bottom = createBackoff({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
  expect(bottom.delay(3)).toBe(0);
});

it('sleep() returns false at once when the signal aborts', async () => {
  const backoff = createBackoff({ baseDelayMs: 1, maxDelayMs: 1, random: Math.random });
  const controller = new AbortController();
  const slept = backoff.sleep(60_000, controller.signal);
  controller.abort();
  await expect(slept).resolves.toBe(false);
  await expect(backoff.sleep(0)).resolves.toBe(true);
});
