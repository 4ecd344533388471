import { describe, expect, it } from 'vitest';
import { isTimeZone } from '../time/time-zone.js';
import { fitIdentifier } from './fit-identifier.js';

describe('fitIdentifier', () => {
  it('keeps what fits and hashes what does not, deterministically', () => {
    expect(fitIdentifier('verification-v-1', { maxBytes: 64 })).toBe('verification-v-1');
    const long = `verification-${'f'.repeat(64)}`;
    const fitted = fitIdentifier(long, { maxBytes: 64 });
    expect(Buffer.byteLength(fitted)).toBeLessThanOrEqual(64);
    expect(fitted).toBe(fitIdentifier(long, { maxBytes: 64 }));
    expect(fitted).not.toBe(fitIdentifier(`${long}x`, { maxBytes: 64 }));
  });

  it('counts bytes, not characters, and never passes a NUL', () => {
    const wide = 'ü'.repeat(40); // 80 bytes
    expect(Buffer.byteLength(fitIdentifier(wide, { maxBytes: 64 }))).toBeLessThanOrEqual(64);
    expect(fitIdentifier('a\u0000b', { maxBytes: 64 })).not.toContain('\u0000');
    expect(fitIdentifier('', { maxBytes: 64 }).length).toBeGreaterThan(0);
  });

  it('hashes values outside an alphabet (Web Push Topic)', () => {
    const topic = { maxBytes: 32, allowed: /^[A-Za-z0-9_-]+$/ };
    expect(fitIdentifier('approval-42', topic)).toBe('approval-42');
    expect(fitIdentifier('approval:42', topic)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });
});

describe('isTimeZone', () => {
  it('knows IANA zones and refuses anything else', () => {
    expect(isTimeZone('Europe/Zurich')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone(42)).toBe(false);
    expect(isTimeZone('x'.repeat(100))).toBe(false);
  });
});
