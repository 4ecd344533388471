import { describe, expect, it } from 'vitest';
import { createZoneClock, quietHoursAt } from './quiet-hours.js';

const zones = createZoneClock();
const at = (iso: string) => Date.parse(iso);
const ends = (start: string, end: string, timeZone: string, now: string) => {
  const state = quietHoursAt({ start, end, timeZone }, at(now), zones);
  return state.quiet ? new Date(state.endsAt).toISOString() : 'not quiet';
};

// Europe/Zurich: 2026-03-29 02:00 CET → 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST → 02:00 CET (01:00Z).
// America/New_York: 2026-03-08 02:00 EST → 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT → 01:00 EST (06:00Z).
describe('quiet hours across daylight saving changes', () => {
  it('ends at the wall-clock end on the night the clocks go forward', () => {
    // 01:30 CET, before the change: 07:00 is CEST by then, 05:00Z (not 06:00Z, 5.5 hours of wall clock later).
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-03-29T00:30:00Z')).toBe('2026-03-29T05:00:00.000Z');
    // 03:30 CEST, after the change.
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-03-29T01:30:00Z')).toBe('2026-03-29T05:00:00.000Z');
    // The evening before: 23:00 CET.
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-03-28T22:00:00Z')).toBe('2026-03-29T05:00:00.000Z');
    expect(ends('22:00', '07:00', 'America/New_York', '2026-03-08T06:30:00Z')).toBe('2026-03-08T11:00:00.000Z');
    expect(ends('23:00', '06:30', 'America/New_York', '2026-03-08T04:00:00Z')).toBe('2026-03-08T10:30:00.000Z');
  });

  it('ends at the wall-clock end on the night the clocks go back', () => {
    // 02:30 CEST (first pass): 07:00 CET is 06:00Z.
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-10-25T00:30:00Z')).toBe('2026-10-25T06:00:00.000Z');
    // 02:30 CET (second pass).
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-10-25T01:30:00Z')).toBe('2026-10-25T06:00:00.000Z');
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-10-24T21:00:00Z')).toBe('2026-10-25T06:00:00.000Z');
    expect(ends('22:00', '07:00', 'America/New_York', '2026-11-01T05:30:00Z')).toBe('2026-11-01T12:00:00.000Z');
  });

  it('an end inside the skipped hour ends when the clock jumps past it', () => {
    // 02:30 never happens in Zurich on 29 March: the first instant at or after it is 03:00 CEST (01:00Z).
    expect(ends('22:00', '02:30', 'Europe/Zurich', '2026-03-29T00:15:00Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(ends('01:00', '02:30', 'America/New_York', '2026-03-08T06:10:00Z')).toBe('2026-03-08T07:00:00.000Z');
  });

  it('an end inside the repeated hour ends at its first occurrence after now', () => {
    // 01:00–02:30 in Zurich on 25 October: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET).
    expect(ends('01:00', '02:30', 'Europe/Zurich', '2026-10-24T23:10:00Z')).toBe('2026-10-25T00:30:00.000Z');
    // At 02:10 CET the wall clock is inside the window again; it ends at the second 02:30.
    expect(ends('01:00', '02:30', 'Europe/Zurich', '2026-10-25T01:10:00Z')).toBe('2026-10-25T01:30:00.000Z');
    // 02:45 CEST: past the end, not quiet.
    expect(ends('01:00', '02:30', 'Europe/Zurich', '2026-10-25T00:45:00Z')).toBe('not quiet');
  });

  it('keeps ordinary nights and windows that do not cross midnight exact, to the minute', () => {
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-01-15T23:00:00Z')).toBe('2026-01-16T06:00:00.000Z');
    expect(ends('12:00', '14:00', 'Europe/Zurich', '2026-07-15T10:30:45.500Z')).toBe('2026-07-15T12:00:00.000Z');
    expect(ends('22:00', '07:00', 'Asia/Kolkata', '2026-03-29T00:30:00Z')).toBe('2026-03-29T01:30:00.000Z');
    expect(ends('22:00', '07:00', 'Europe/Zurich', '2026-03-29T05:00:00Z')).toBe('not quiet');
    expect(ends('22:00', '22:00', 'Europe/Zurich', '2026-03-29T00:30:00Z')).toBe('not quiet');
  });
});
