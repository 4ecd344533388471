/** Our retry of retryable FCM failures, between firebase-admin's own (503 and resets only) and the engine's outbox. */
export interface FcmRetryOptions {
  /** Sends per message including the first; 1 disables retrying. Default 3. */
  attempts?: number;
  /** First backoff step; doubles each attempt. Default 500 ms. */
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

/**
 * The wait before retry number `retry` (1-based): exponential backoff with equal jitter (half fixed, half random,
 * so concurrent senders spread out but never retry immediately), capped at `maxDelayMs`, and never shorter than
 * the service's `Retry-After`. Google asks for exponential backoff with jitter and for `Retry-After` to be honoured.
 *
 * @see https://firebase.google.com/docs/cloud-messaging/scale-fcm#handling-retries
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number, retryAfterMs = 0): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = step / 2 + (random() * step) / 2;
  return Math.max(Math.round(jittered), retryAfterMs);
}
