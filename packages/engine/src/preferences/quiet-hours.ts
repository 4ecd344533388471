import { IdrelayError, type QuietHours } from '@idrelay/core';

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

function minutesOf(text: string): number {
  const match = HHMM.exec(text);
  if (!match) throw new IdrelayError('ERR_INVALID_ARGUMENT', `Quiet hours expect HH:MM, got "${text}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const DAY_MS = 86_400_000;

/**
 * Reads wall clocks in IANA time zones with `Intl`, caching one formatter per zone. A factory, not a module cache,
 * so two relays never share state.
 *
 * @example
 * ```ts
 * const zones = createZoneClock();
 * zones.minuteOfDay(Date.parse('2026-01-15T22:30:00Z'), 'Europe/Zurich'); // 23 * 60 + 30
 * ```
 */
export function createZoneClock() {
  const formatters = new Map<string, Intl.DateTimeFormat>();
  function formatter(timeZone: string): Intl.DateTimeFormat {
    let found = formatters.get(timeZone);
    if (!found) {
      try {
        found = new Intl.DateTimeFormat('en-US', {
          timeZone,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
      } catch (cause) {
        throw new IdrelayError('ERR_INVALID_ARGUMENT', `Unknown time zone "${timeZone}"`, { cause });
      }
      formatters.set(timeZone, found);
    }
    return found;
  }
  /** The wall-clock time at `at` in `timeZone`, to the second, written as if it were UTC. */
  function wallClock(at: number, timeZone: string): number {
    const f: Record<string, number> = {};
    for (const part of formatter(timeZone).formatToParts(at)) {
      if (part.type !== 'literal') f[part.type] = Number(part.value);
    }
    return Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
  }
  /** How far the zone's wall clock is ahead of UTC at `at`, ms. */
  function offset(at: number, timeZone: string): number {
    const second = Math.floor(at / 1000) * 1000;
    return wallClock(second, timeZone) - second;
  }
  return {
    /** Minutes since local midnight at `at` in `timeZone`. */
    minuteOfDay(at: number, timeZone: string): number {
      const wall = wallClock(at, timeZone);
      return Math.floor((((wall % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
    },
    /** The wall-clock time at `at` in `timeZone`, written as if it were UTC (`Date.UTC` of the local fields). */
    wallClock,
    /**
     * The first instant after `after` at which the wall clock of `timeZone` shows `wall` (a `Date.UTC` of local
     * fields). When the clocks go back and the time happens twice, the earlier occurrence after `after`; when they
     * go forward over it, the instant they jump past it.
     */
    instantOf(wall: number, timeZone: string, after: number): number {
      // No zone changes its offset twice within two days, so the offsets a day either side are the only candidates.
      const before = offset(wall - DAY_MS, timeZone);
      const later = offset(wall + DAY_MS, timeZone);
      const found = [wall - before, wall - later]
        .filter((at) => at > after && wallClock(at, timeZone) === wall)
        .sort((a, b) => a - b)[0];
      if (found !== undefined) return found;
      // The time was skipped: find the change, which lies between the two readings, to the minute.
      let low = Math.min(wall - before, wall - later);
      let high = Math.max(wall - before, wall - later);
      while (high - low > 60_000) {
        const middle = low + Math.floor((high - low) / 120_000) * 60_000;
        if (offset(middle, timeZone) === later) high = middle;
        else low = middle;
      }
      return Math.max(high, after + 1);
    },
  };
}

/** A zone clock from {@link createZoneClock}. */
export type ZoneClock = ReturnType<typeof createZoneClock>;

/**
 * Where `at` falls relative to quiet hours. Windows may cross midnight (`22:00`–`07:00`); `start === end` means
 * no quiet hours. When inside, `endsAt` is the instant the user's wall clock reaches `end`, to defer a delivery to —
 * correct across daylight saving changes: on the night the clocks go forward, `07:00` is an hour sooner than seven
 * hours after midnight; an end the clocks skip over (`02:30` in Zurich on the last Sunday of March) ends when they
 * jump past it; an end that happens twice ends at its first occurrence after `at`.
 *
 * @example
 * ```ts
 * quietHoursAt({ start: '22:00', end: '07:00', timeZone: 'Europe/Zurich' }, Date.parse('2026-01-15T23:00:00Z'), zones);
 * // { quiet: true, endsAt: Date.parse('2026-01-16T06:00:00Z') }
 * ```
 */
export function quietHoursAt(
  quiet: QuietHours,
  at: number,
  zones: ZoneClock,
): { quiet: false } | { quiet: true; endsAt: number } {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return { quiet: false };
  const wall = zones.wallClock(at, quiet.timeZone);
  const now = Math.floor((((wall % DAY_MS) + DAY_MS) % DAY_MS) / 60_000);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return { quiet: false };
  const midnight = wall - (((wall % DAY_MS) + DAY_MS) % DAY_MS);
  const endWall = midnight + (end > now ? 0 : DAY_MS) + end * 60_000;
  return { quiet: true, endsAt: zones.instantOf(endWall, quiet.timeZone, at) };
}
