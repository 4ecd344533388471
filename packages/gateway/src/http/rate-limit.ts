import { httpError } from './http-errors.js';

/** A token bucket's size and refill. */
export interface BucketOptions {
  /** Tokens added per `intervalMs`. */
  rate: number;
  intervalMs: number;
  /** Bucket size: requests allowed at once after a quiet spell. */
  burst: number;
  now: () => number;
  /** Buckets kept at most (one per key); full buckets are dropped first. Default 50 000. */
  maxKeys?: number;
}

/**
 * Token buckets by key (an API key id, a user id). A full bucket is the same as no bucket, so idle keys cost no
 * memory once their bucket has refilled.
 */
export function createRateLimiter(options: BucketOptions) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const perMs = options.rate / options.intervalMs;
  const maxKeys = options.maxKeys ?? 50_000;

  function level(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(options.burst, bucket.tokens + (now - bucket.at) * perMs);
  }

  return {
    /**
     * Takes one token from `key`'s bucket.
     *
     * @throws {IdrelayError} `ERR_HTTP_RATE_LIMITED` with `details.retryAfterMs` when the bucket is empty.
     */
    take(key: string, what: string): void {
      const now = options.now();
      const bucket = buckets.get(key);
      const tokens = bucket === undefined ? options.burst : level(bucket, now);
      if (tokens < 1) {
        const retryAfterMs = Math.ceil((1 - tokens) / perMs);
        throw httpError(
          'ERR_HTTP_RATE_LIMITED',
          `Too many requests for ${what}; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
          {
            retryAfterMs,
          },
        );
      }
      if (bucket === undefined && buckets.size >= maxKeys) {
        for (const [k, b] of buckets) if (level(b, now) >= options.burst) buckets.delete(k);
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
      }
      buckets.set(key, { tokens: tokens - 1, at: now });
    },
  };
}

/** A rate limiter. */
export type RateLimiter = ReturnType<typeof createRateLimiter>;
