import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from './retry-after.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delay-seconds and the three HTTP-date forms (RFC 9110 §10.2.3, §5.6.7)', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(['5', '9'], NOW)).toBe(5000);
    expect(parseRetryAfter(30, NOW)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Monday, 23-Nov-26 12:00:45 GMT', NOW)).toBe(45_000);
    expect(parseRetryAfter('Mon Nov 23 12:01:00 2026', NOW)).toBe(60_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', NOW)).toBe(0);
  });

  it('refuses what is not a Retry-After, rather than retrying at once', () => {
    for (const value of [
      '-3',
      '+3',
      '3.5',
      '1.5',
      '1e3',
      '0x10',
      '',
      '   ',
      'soon',
      'Mon, 23 Nov 2026',
      '23 Nov 2026 12:00:30 GMT',
    ]) {
      expect(parseRetryAfter(value, NOW), JSON.stringify(value)).toBeUndefined();
    }
    for (const value of [undefined, null, -3, 1.5, Number.NaN, {}, [], true]) {
      expect(parseRetryAfter(value, NOW), String(value)).toBeUndefined();
    }
  });

  it('caps long waits, by default at one day', () => {
    expect(parseRetryAfter('999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('7200', NOW, { maxMs: 3_600_000 })).toBe(3_600_000);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW, { maxMs: 60_000 })).toBe(60_000);
  });

  it('property: any delta-seconds is read exactly, up to the cap', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), fc.integer({ min: 0, max: 10 ** 10 }), (seconds, maxMs) => {
        expect(parseRetryAfter(String(seconds), NOW, { maxMs })).toBe(Math.min(seconds * 1000, maxMs));
      }),
    );
  });

  it('property: a signed, fractional or exponent number is never a delay', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 1, max: 10 ** 6 }).map((n) => `-${n}`),
          fc
            .double({ min: 0, max: 1e6, noNaN: true })
            .filter((n) => !Number.isInteger(n))
            .map(String),
          fc.nat().map((n) => `${n}e1`),
        ),
        (value) => {
          expect(parseRetryAfter(value, NOW)).toBeUndefined();
        },
      ),
    );
  });

  it('property: an IMF-fixdate gives the ms until it, 0 when past, never more than the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }), (at) => {
        const seconds = Math.floor(at / 1000) * 1000;
        const expected = Math.min(Math.max(0, seconds - NOW), MAX_RETRY_AFTER_MS);
        expect(parseRetryAfter(new Date(seconds).toUTCString(), NOW)).toBe(expected);
      }),
    );
  });

  it('property: whatever the input, the result is undefined or a whole number of ms within [0, cap]', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
        const ms = parseRetryAfter(value, NOW);
        if (ms !== undefined) {
          expect(Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS);
        }
      }),
    );
  });
});
