import { IdrelayError, type QuietHours } from '@idrelay/core';

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

function minutesOf(text: string): number {
  const match = HHMM.exec(text);
  if (!match) throw new IdrelayError('ERR_INVALID_ARGUMENT', `Quiet hours expect HH:MM, got "${text}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * Computes local wall-clock minutes in IANA time zones with `Intl`, caching one formatter per zone. A factory,
 * not a module cache, so two relays never share state.
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
        found = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
      } catch (cause) {
        throw new IdrelayError('ERR_INVALID_ARGUMENT', `Unknown time zone "${timeZone}"`, { cause });
      }
      formatters.set(timeZone, found);
    }
    return found;
  }
  return {
    /** Minutes since local midnight at `at` in `timeZone`. */
    minuteOfDay(at: number, timeZone: string): number {
      let hour = 0;
      let minute = 0;
      for (const part of formatter(timeZone).formatToParts(at)) {
        if (part.type === 'hour') hour = Number(part.value);
        else if (part.type === 'minute') minute = Number(part.value);
      }
      return hour * 60 + minute;
    },
  };
}

/** A zone clock from {@link createZoneClock}. */
export type ZoneClock = ReturnType<typeof createZoneClock>;

/**
 * Where `at` falls relative to quiet hours. Windows may cross midnight (`22:00`–`07:00`); `start === end` means
 * no quiet hours. When inside, `endsAt` is the instant the window ends, to defer a delivery to. Around a daylight
 * saving change the end may be off by the shift (an hour early or late); we accept that rather than carry a
 * time-zone database.
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
  const now = zones.minuteOfDay(at, quiet.timeZone);
  const inside = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inside) return { quiet: false };
  const minutesLeft = (end - now + 1440) % 1440;
  // Align to the start of the current minute so the deferral lands exactly on HH:MM:00.
  const minuteStart = at - (at % 60_000);
  return { quiet: true, endsAt: minuteStart + minutesLeft * 60_000 };
}
