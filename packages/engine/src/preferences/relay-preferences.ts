import {
  type Clock,
  createEvent,
  type IdentityEvent,
  IdrelayError,
  type PreferenceRule,
  type QuietHours,
  type Store,
  type UserPreferences,
} from '@idrelay/core';

/** Preference management, as exposed on `relay.preferences`. */
export interface RelayPreferences {
  get(userId: string): Promise<UserPreferences | undefined>;
  /**
   * Replaces a user's preferences, audits the change and emits `idrelay.preference.changed` to relay listeners,
   * from where a `WriteBack` can carry it to the directory attribute (see `encodePreferences`).
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
  store: Store;
  clock: Clock;
  source: string;
  emit(event: IdentityEvent): void;
}): RelayPreferences {
  return {
    get(userId) {
      return options.store.preferences.get(userId);
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
      await options.store.preferences.put(preferences);
      await options.store.audit.append([
        {
          at: now,
          action: 'preference.changed',
          actor: userId,
          target: userId,
          details: { rules: input.rules.length, origin },
        },
      ]);
      options.emit(event);
      return preferences;
    },
  };
}
