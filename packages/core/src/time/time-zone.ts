/** Zones already checked, both ways: `Intl` is slow to construct and preferences are checked on every write. */
const known = new Map<string, boolean>();

/**
 * True when `zone` is an IANA time zone this runtime knows (`Europe/Zurich`, `UTC`, `America/Argentina/Salta`).
 * Quiet hours are evaluated in it, so an unknown zone must be refused where preferences enter the relay rather
 * than fail every later delivery to the user.
 *
 * @see https://www.iana.org/time-zones
 * @example
 * ```ts
 * isTimeZone('Europe/Berlin'); // true
 * isTimeZone('Mars/Olympus_Mons'); // false
 * ```
 */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return false;
  let ok = known.get(zone);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      ok = true;
    } catch {
      ok = false;
    }
    if (known.size < 4096) known.set(zone, ok);
  }
  return ok;
}
