/** The steps of an exponential backoff. */
export interface BackoffPolicy {
  /** Ceiling of the first wait, ms; doubles with each retry. */
  baseDelayMs: number;
  /** Ceiling of any wait, ms. */
  maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (1 = after the first failure): exponential backoff with full jitter, a
 * uniform whole number of ms in `[0, min(maxDelayMs, baseDelayMs × 2^(retry−1)))`. Full jitter spreads the retries
 * of devices throttled together instead of synchronising them (the AWS analysis found it the cheapest for the
 * server of the jitter variants). A service's `Retry-After` is the caller's to combine: a transport waits at least
 * that long, the outbox uses it instead.
 *
 * @param random Source of randomness in [0, 1); tests inject a fixed one.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @example
 * ```ts
 * backoffDelay(1, { baseDelayMs: 500, maxDelayMs: 5000 }); // 0–499
 * backoffDelay(4, { baseDelayMs: 500, maxDelayMs: 5000 }, () => 0.5); // 2000
 * ```
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  // 2^30 already dwarfs any sane cap; clamping the exponent keeps a runaway attempt count from making Infinity.
  const exponent = Math.min(Math.max(0, retry - 1), 30);
  const ceiling = Math.max(0, Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent));
  return Math.min(Math.floor(random() * ceiling), Math.max(0, Math.ceil(ceiling) - 1));
}
