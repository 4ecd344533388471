/** Our retry of retryable FCM failures inside one send; past it, the engine's outbox takes over. firebase-admin's own is off. */
export interface FcmRetryOptions {
  /** Sends per message including the first; 1 disables retrying. Default 3. */
  attempts?: number;
  /** Ceiling of the first backoff; doubles each retry, with full jitter (core's `backoffDelay`). Default 500 ms. */
  baseDelayMs?: number;
  /**
   * The longest wait spent in-process. A `Retry-After` above it ends the retries at once, and the result carries
   * it as `retryAfterMs` for the outbox. Default 5000 ms.
   */
  maxDelayMs?: number;
}

/** {@link FcmRetryOptions} with defaults applied. */
export type RetryPolicy = Required<FcmRetryOptions>;

/** Applies defaults and checks ranges. Returns an error text for `ERR_TRANSPORT_CONFIG`, or the policy. */
export function retryPolicy(options: FcmRetryOptions | false | undefined): RetryPolicy | string {
  if (options === false) return { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
  const policy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 5000, ...options };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) return 'retry.attempts must be an integer ≥ 1';
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) return 'retry delays must be ≥ 0';
  return policy;
}
