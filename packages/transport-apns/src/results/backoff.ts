/** Options of {@link createBackoff}. */
export interface BackoffOptions {
  /** Ceiling of the first wait. */
  baseDelayMs: number;
  /** Ceiling of any wait. */
  maxDelayMs: number;
  /** Uniform in [0, 1). */
  random: () => number;
}

/** Retry waits for one transport. */
export interface Backoff {
  /** Wait before retry number `attempt` (1 = after the first failure): "full jitter" in [0, min(max, base × 2^(attempt−1))]. */
  delay(attempt: number): number;
  /** Resolves `true` after `ms`, or `false` at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean>;
}

/**
 * Exponential backoff with full jitter, so that many devices throttled at once do not retry in lockstep
 * (Google's FCM scaling guide and AWS's "Exponential Backoff and Jitter" give the same advice).
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ baseDelayMs: 250, maxDelayMs: 5000, random: Math.random });
 * await backoff.sleep(backoff.delay(1));
 * ```
 */
export function createBackoff(options: BackoffOptions): Backoff {
  return {
    delay(attempt) {
      const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
      return Math.floor(options.random() * ceiling);
    },
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise((resolve) => {
        const onAbort = () => {
          clearTimeout(timer);
          resolve(false);
        };
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}
