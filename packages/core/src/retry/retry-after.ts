/** RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must also accept. */
const HTTP_DATE = [
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} GMT$/,
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/,
];

/** The longest wait {@link parseRetryAfter} returns unless told otherwise: one day. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** Options of {@link parseRetryAfter}. */
export interface ParseRetryAfterOptions {
  /** Longest wait returned; longer ones (or far-future dates) are cut to it. Default {@link MAX_RETRY_AFTER_MS}. */
  maxMs?: number;
}

/**
 * Reads a `Retry-After` value as milliseconds from `nowMs`: delay-seconds (RFC 9110 §10.2.3: digits only) or an
 * HTTP-date in one of the three forms RFC 9110 §5.6.7 names, a past date giving 0; the result is capped at
 * `maxMs`. Anything else — a negative or fractional number, `1e3`, a bare year, an empty string, a value that is not
 * a string or a non-negative integer — is `undefined`, so the caller backs off on its own instead of retrying at
 * once. A repeated header (an array) is read from its first value; surrounding whitespace is ignored.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 * @example
 * ```ts
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('Wed, 21 Oct 2026 07:28:00 GMT', Date.now()); // ms until then, or 0 if past
 * parseRetryAfter('-3', Date.now()); // undefined, not an immediate retry
 * parseRetryAfter('99999999', Date.now(), { maxMs: 3_600_000 }); // 3600000
 * ```
 */
export function parseRetryAfter(
  value: unknown,
  nowMs: number,
  options: ParseRetryAfterOptions = {},
): number | undefined {
  const maxMs = options.maxMs ?? MAX_RETRY_AFTER_MS;
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'number') {
    return Number.isSafeInteger(first) && first >= 0 ? Math.min(first * 1000, maxMs) : undefined;
  }
  if (typeof first !== 'string') return undefined;
  const text = first.trim();
  // A delta too long for a safe integer is still a valid (very long) delay: Number() keeps it finite or Infinity.
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, maxMs);
  if (!HTTP_DATE.some((form) => form.test(text))) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - nowMs), maxMs);
}
