import type { PreferenceRule, PreferenceStore, QuietHours, UserPreferences } from '@idrelay/core';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';
import { appendOutgoing, dueAt } from './outgoing.js';

const toPreferences = (row: Row): UserPreferences => {
  const preferences: UserPreferences = {
    userId: str(row.user_id)!,
    rules: row.rules as PreferenceRule[],
    updatedAt: num(row.updated_at)!,
  };
  if (row.quiet_hours !== null && row.quiet_hours !== undefined) preferences.quietHours = row.quiet_hours as QuietHours;
  return preferences;
};

/**
 * {@link PreferenceStore} on the `preferences` table: one row per user, rules and quiet hours as JSON. A change's
 * outgoing entries (`emit`) are appended in the same transaction.
 */
export function createPreferenceStore(context: PgContext): PreferenceStore {
  const { query } = context;
  const preferences = context.table('preferences');
  const upsert = `INSERT INTO ${preferences} (user_id, rules, quiet_hours, updated_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (user_id) DO UPDATE SET rules = excluded.rules, quiet_hours = excluded.quiet_hours,
      updated_at = excluded.updated_at`;
  return {
    get: async (userId) => {
      const { rows } = await query(`SELECT * FROM ${preferences} WHERE user_id = $1`, [userId]);
      return rows[0] === undefined ? undefined : toPreferences(rows[0]);
    },
    getMany: async (userIds) => {
      const found = new Map<string, UserPreferences>();
      if (userIds.length === 0) {
        context.assertOpen();
        return found;
      }
      const { rows } = await query(`SELECT * FROM ${preferences} WHERE user_id = ANY($1::text[])`, [userIds]);
      for (const row of rows) {
        const item = toPreferences(row);
        found.set(item.userId, item);
      }
      return found;
    },
    put: async (item, options = {}) => {
      const values = [
        item.userId,
        JSON.stringify(item.rules),
        item.quietHours === undefined ? null : JSON.stringify(item.quietHours),
        item.updatedAt,
      ];
      const emitted = dueAt(options.emit, item.updatedAt);
      if (emitted.length === 0) {
        await query(upsert, values);
        return;
      }
      await context.transaction(async (tx) => {
        await tx(upsert, values);
        await appendOutgoing(context, tx, emitted);
      });
    },
  };
}
