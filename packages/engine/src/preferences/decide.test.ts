import type { UserPreferences } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { decideDelivery } from './decide.js';
import { decodePreferences, encodePreferences } from './preferences-codec.js';
import { createZoneClock, quietHoursAt } from './quiet-hours.js';

const zones = createZoneClock();
const at = (iso: string) => Date.parse(iso);
const prefs = (p: Partial<UserPreferences>): UserPreferences => ({ userId: 'u', rules: [], updatedAt: 0, ...p });
const facts = { category: 'announcement', channel: 'apns' as const, critical: false, now: at('2026-06-01T12:00:00Z') };

describe('quiet hours', () => {
  const night = { start: '22:00', end: '07:00', timeZone: 'Europe/Zurich' };

  it('spans midnight in the user zone, in winter and in summer time', () => {
    // 23:30 in Zurich in January (UTC+1) and in July (UTC+2).
    expect(quietHoursAt(night, at('2026-01-15T22:30:00Z'), zones)).toEqual({
      quiet: true,
      endsAt: at('2026-01-16T06:00:00Z'),
    });
    expect(quietHoursAt(night, at('2026-07-15T21:30:00Z'), zones)).toEqual({
      quiet: true,
      endsAt: at('2026-07-16T05:00:00Z'),
    });
    // 06:59 is still quiet, 07:00 is not.
    expect(quietHoursAt(night, at('2026-01-16T05:59:00Z'), zones)).toEqual({
      quiet: true,
      endsAt: at('2026-01-16T06:00:00Z'),
    });
    expect(quietHoursAt(night, at('2026-01-16T06:00:00Z'), zones)).toEqual({ quiet: false });
    expect(quietHoursAt(night, at('2026-01-15T12:00:00Z'), zones)).toEqual({ quiet: false });
  });

  it('handles same-day windows and zones far from UTC', () => {
    const lunch = { start: '12:00', end: '13:30', timeZone: 'Asia/Kolkata' }; // UTC+5:30
    expect(quietHoursAt(lunch, at('2026-03-01T07:00:00Z'), zones)).toEqual({
      quiet: true,
      endsAt: at('2026-03-01T08:00:00Z'),
    });
    expect(quietHoursAt({ ...lunch, end: '12:00' }, at('2026-03-01T07:00:00Z'), zones)).toEqual({ quiet: false });
  });

  it('rejects malformed times and unknown zones', () => {
    expect(() => quietHoursAt({ ...night, start: '25:00' }, 0, zones)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => quietHoursAt({ ...night, timeZone: 'Mars/Olympus' }, 0, zones)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });
});

describe('decideDelivery', () => {
  it('sends with defaults when there are no preferences', () => {
    expect(decideDelivery(undefined, facts, zones)).toEqual({
      action: 'send',
      reason: 'no preferences: defaults apply',
    });
  });

  it('lets the most specific rule win: category+channel > category > channel > */*', () => {
    const rules = [
      { category: '*', channel: '*' as const, enabled: false },
      { category: '*', channel: 'apns' as const, enabled: true },
      { category: 'announcement', channel: '*' as const, enabled: false },
      { category: 'announcement', channel: 'apns' as const, enabled: true },
    ];
    expect(decideDelivery(prefs({ rules }), facts, zones)).toEqual({
      action: 'send',
      reason: 'opted in (announcement/apns)',
    });
    expect(decideDelivery(prefs({ rules }), { ...facts, channel: 'fcm' }, zones)).toEqual({
      action: 'suppress',
      reason: 'opted out (announcement/*)',
    });
    expect(decideDelivery(prefs({ rules }), { ...facts, category: 'other' }, zones).action).toBe('send');
    expect(decideDelivery(prefs({ rules }), { ...facts, category: 'other', channel: 'webpush' }, zones)).toEqual({
      action: 'suppress',
      reason: 'opted out (*/*)',
    });
  });

  it('defers into quiet hours, using the directory zone when the quiet hours name none', () => {
    const p = prefs({ quietHours: { start: '13:00', end: '15:00', timeZone: '' } });
    expect(decideDelivery(p, { ...facts, timeZone: 'Europe/Berlin' }, zones)).toEqual({
      action: 'defer',
      dueAt: at('2026-06-01T13:00:00Z'),
      reason: 'quiet hours 13:00–15:00 Europe/Berlin',
    });
  });

  it('never mutes or defers a critical category, and says so', () => {
    const p = prefs({
      rules: [{ category: '*', channel: '*', enabled: false }],
      quietHours: { start: '00:00', end: '23:59', timeZone: 'UTC' },
    });
    expect(decideDelivery(p, { ...facts, critical: true }, zones)).toEqual({
      action: 'send',
      reason: 'opted out (*/*) but the category is critical',
    });
    const quietOnly = prefs({ quietHours: { start: '00:00', end: '23:59', timeZone: 'UTC' } });
    expect(decideDelivery(quietOnly, { ...facts, critical: true }, zones).reason).toBe(
      'quiet hours 00:00–23:59 UTC, overridden: the category is critical',
    );
  });
});

describe('preference attribute codec', () => {
  it('round-trips rules and quiet hours through one directory attribute value', () => {
    const value = {
      rules: [
        { category: 'announcement', channel: '*' as const, enabled: false },
        { category: 'security-alert', channel: 'apns' as const, enabled: true },
      ],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'America/Argentina/Buenos_Aires' },
    };
    const text = encodePreferences(value);
    expect(text).toBe('announcement/*=off;security-alert/apns=on;quiet=22:00-07:00@America/Argentina/Buenos_Aires');
    expect(decodePreferences(text)).toEqual(value);
    expect(decodePreferences('')).toEqual({ rules: [] });
    expect(() => decodePreferences('announcement=maybe')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });
});
