/**
 * The retry vocabulary of idrelay's transports: one strict `Retry-After` parser, one backoff formula and one
 * abortable sleep. This file is byte-for-byte the same in transport-apns, transport-fcm and transport-webpush until
 * it moves to `@idrelay/core`.
 */

/** RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must also accept. */
const HTTP_DATE = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/**
 * Reads a `Retry-After` value (RFC 9110 §10.2.3) as milliseconds from `nowMs`: delay-seconds (digits only) or an
 * HTTP-date in one of the three forms RFC 9110 §5.6.7 names, a past date giving 0. Anything else — a negative or
 * fractional number, a bare year, an empty string, a value that is not a string or a non-negative integer — is
 * `undefined`: the caller then backs off on its own instead of retrying at once. A header repeated (an array) is
 * read from its first value.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', Date.now()); // ms until then, or 0 if past
 * parseRetryAfter('-3', Date.now()); // undefined, not an immediate retry
 * ```
 */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') return Number.isSafeInteger(first) && first >= 0 ? first * 1000 : undefined;
  if (typeof first !== 'string') return undefined;
  const text = first.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  if (!HTTP_DATE.some((form) => form.test(text))) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The backoff steps of one retry policy. */
export interface BackoffPolicy {
  /** Ceiling of the first wait; doubles with each retry. */
  baseDelayMs: number;
  /** Ceiling of any wait. */
  maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (1 = after the first failure): exponential backoff with equal jitter — half
 * of `min(maxDelayMs, baseDelayMs × 2^(retry−1))` fixed, half random — so that devices throttled together spread out
 * yet never retry at once; never shorter than the service's `retryAfterMs`.
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 * @see https://firebase.google.com/docs/cloud-messaging/scale-fcm#handling-retries
 * @example
 * ```ts
 * backoffDelay(1, { baseDelayMs: 500, maxDelayMs: 5000 }, Math.random); // 250–500
 * backoffDelay(3, { baseDelayMs: 500, maxDelayMs: 5000 }, Math.random, 7000); // 7000
 * ```
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number, retryAfterMs = 0): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.max(Math.round(step / 2 + (random() * step) / 2), retryAfterMs);
}

/**
 * Waits `ms`; resolves `true` when the time is up and `false` as soon as `signal` aborts (at once if it already
 * has). Never rejects, and leaves no timer or listener behind.
 *
 * @example
 * ```ts
 * if (!(await sleep(backoffDelay(attempt, policy, Math.random), signal))) return aborted();
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
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
}
