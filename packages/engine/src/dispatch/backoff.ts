import { backoffDelay } from '@idrelay/core';

/**
 * Retry policy of deliveries.
 *
 * @example
 * ```ts
 * createRelay({ ...options, retry: { maxAttempts: 5, baseMs: 2_000, capMs: 600_000 } });
 * ```
 */
export interface RetryPolicy {
  /** Attempts before a delivery is dead-lettered. Default 8. */
  maxAttempts?: number;
  /** First delay, ms. Default 1,000. */
  baseMs?: number;
  /** Largest delay, ms. Default 15 minutes. */
  capMs?: number;
  /** Longest Retry-After honoured, ms; longer requests are capped. Default 1 hour. */
  maxRetryAfterMs?: number;
}

/**
 * The delay before the next attempt: the push service's Retry-After when it gave one (capped), otherwise core's
 * `backoffDelay` — full jitter, a uniform delay between 0 and `min(cap, base · 2^(attempt-1))`, which spreads a
 * 429 storm's retries instead of synchronising them.
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @example
 * ```ts
 * retryDelay(3, undefined, {}, Math.random); // somewhere in [0, 4000) ms
 * retryDelay(3, 30_000, {}, Math.random);    // 30000 ms
 * ```
 */
export function retryDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: RetryPolicy,
  random: () => number,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) {
    return Math.min(retryAfterMs, policy.maxRetryAfterMs ?? 3_600_000);
  }
  return backoffDelay(
    attempt,
    { baseDelayMs: policy.baseMs ?? 1_000, maxDelayMs: policy.capMs ?? 15 * 60_000 },
    random,
  );
}
