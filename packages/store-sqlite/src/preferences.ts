import type { PreferenceRule, PreferenceStore, QuietHours, UserPreferences } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { fromJson, int, text } from './driver.js';
import { appendOutgoing } from './outgoing.js';

const toPreferences = (row: Row): UserPreferences => {
  const preferences: UserPreferences = {
    userId: text(row.user_id)!,
    rules: fromJson<PreferenceRule[]>(row.rules) ?? [],
    updatedAt: int(row.updated_at)!,
  };
  const quietHours = fromJson<QuietHours>(row.quiet_hours);
  if (quietHours !== undefined) preferences.quietHours = quietHours;
  return preferences;
};

/** {@link PreferenceStore} on the `preferences` table, one row per user; `emit` entries join the same transaction. */
export function createPreferenceStore(context: SqliteContext): PreferenceStore {
  const { statement, run, transaction } = context;
  return {
    get: (userId) =>
      run(() => {
        const row = statement('SELECT * FROM preferences WHERE user_id = ?').get(userId) as Row | undefined;
        return row === undefined ? undefined : toPreferences(row);
      }),
    getMany: (userIds) =>
      run(() => {
        const found = new Map<string, UserPreferences>();
        if (userIds.length === 0) return found;
        const rows = statement('SELECT * FROM preferences WHERE user_id IN (SELECT value FROM json_each(?))').all(
          JSON.stringify(userIds),
        ) as Row[];
        for (const row of rows) {
          const preferences = toPreferences(row);
          found.set(preferences.userId, preferences);
        }
        return found;
      }),
    put: (preferences, options = {}) =>
      run(() =>
        transaction(() => {
          statement(
            `INSERT INTO preferences (user_id, rules, quiet_hours, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules, quiet_hours = excluded.quiet_hours,
               updated_at = excluded.updated_at`,
          ).run(
            preferences.userId,
            JSON.stringify(preferences.rules),
            preferences.quietHours === undefined ? null : JSON.stringify(preferences.quietHours),
            preferences.updatedAt,
          );
          appendOutgoing(context, options.emit, preferences.updatedAt);
        }),
      ),
  };
}
