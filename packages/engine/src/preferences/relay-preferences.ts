import {
  type AuditStore,
  type Clock,
  IdrelayError,
  isTimeZone,
  type PreferenceRule,
  type PreferenceStore,
  type QuietHours,
  type UserPreferences,
} from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import type { ConsumerRegistry } from '../outgoing/consumers.js';
import type { Listeners } from '../outgoing/listeners.js';

/** Preference management, as exposed on `relay.preferences`. */
export interface RelayPreferences {
  get(userId: string): Promise<UserPreferences | undefined>;
  /**
   * Replaces a user's preferences, audits the change and emits `idrelay.preference.changed`: to every write-back
   * that takes it through the outgoing log (stored with the preferences in one transaction, so a crash cannot
   * lose the write-back to the directory attribute, see `encodePreferences`), and to in-memory listeners.
   *
   * @throws {IdrelayError} `ERR_INVALID_ARGUMENT` for a malformed rule, quiet hours that are not `HH:MM`, or a
   * time zone the runtime does not know (checked here so that no later delivery to the user can fail on it).
   */
  set(
    userId: string,
    preferences: { rules: PreferenceRule[]; quietHours?: QuietHours },
    origin?: 'device' | 'directory' | 'api' | 'console',
  ): Promise<UserPreferences>;
}

const CHANNELS = new Set(['apns', 'fcm', 'webpush', '*']);

/**
 * Builds `relay.preferences` on the store.
 *
 * @example
 * ```ts
 * await relay.preferences.set('u-1', {
 *   rules: [{ category: 'announcement', channel: '*', enabled: false }],
 *   quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Zurich' },
 * });
 * ```
 */
export function createRelayPreferences(options: {
  preferences: PreferenceStore;
  audit: Pick<AuditStore, 'append'>;
  clock: Clock;
  source: string;
  listeners: Listeners;
  consumers: ConsumerRegistry;
  /** Outgoing entries were appended, due at `at`. */
  onEmitted(at: number): void;
}): RelayPreferences {
  return {
    get(userId) {
      return options.preferences.get(userId);
    },
    async set(userId, input, origin = 'api') {
      for (const rule of input.rules) {
        if (typeof rule.category !== 'string' || rule.category.length === 0 || !CHANNELS.has(rule.channel)) {
          throw new IdrelayError(
            'ERR_INVALID_ARGUMENT',
            'A preference rule needs a category and a channel (apns, fcm, webpush or *)',
            {
              details: { rule },
            },
          );
        }
      }
      const quiet = input.quietHours;
      if (quiet !== undefined) {
        const hhmm = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
        if (!hhmm.test(String(quiet.start)) || !hhmm.test(String(quiet.end)) || !isTimeZone(quiet.timeZone)) {
          throw new IdrelayError(
            'ERR_INVALID_ARGUMENT',
            'Quiet hours need start and end as HH:MM and an IANA time zone the runtime knows (e.g. Europe/Berlin)',
            {
              details: {
                quietHours: { start: quiet.start, end: quiet.end, timeZone: String(quiet.timeZone).slice(0, 64) },
              },
            },
          );
        }
      }
      const now = options.clock.now();
      const preferences: UserPreferences = { userId, rules: input.rules, updatedAt: now };
      if (input.quietHours) preferences.quietHours = input.quietHours;
      // Validates the quiet hours (HH:MM, zone) through the catalogue schema before anything is written.
      const event = createEvent(
        'idrelay.preference.changed',
        {
          userId,
          changes: input.rules.map((r) => ({ category: r.category, channel: r.channel, enabled: r.enabled })),
          quietHours: input.quietHours ? { ...input.quietHours } : null,
          origin,
        },
        { source: options.source, time: new Date(now).toISOString() },
      );
      const emit = options.consumers.entriesFor(event, userId);
      await options.preferences.put(preferences, { emit });
      if (emit.length > 0) options.onEmitted(now);
      await options.audit.append([
        {
          at: now,
          action: 'preference.changed',
          actor: userId,
          target: userId,
          details: { rules: input.rules.length, origin },
        },
      ]);
      if (options.listeners.active) options.listeners.emit([event]);
      return preferences;
    },
  };
}
