import type { DirectoryStore, StoredUser } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';
import type { Row, SqliteContext, SqlValue } from '../driver.js';
import { text } from '../driver.js';
import { attributesQuery, groupsQuery } from './audience-query.js';
import { ACTIVE, checkIds, checkPage, toUser, USER_COLUMNS, userValues } from './rows.js';

/** Upserts a user's row; never `INSERT OR REPLACE`, whose delete would cascade to the user's memberships. */
const UPSERT_USER = `INSERT INTO users (id, display_name, locale, time_zone, manager_id, active, updated_at, attributes,
    subjects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, locale = excluded.locale,
    time_zone = excluded.time_zone, manager_id = excluded.manager_id, active = excluded.active,
    updated_at = excluded.updated_at, attributes = excluded.attributes, subjects = excluded.subjects`;

/** One index row per (name, value) pair of a JSON array of pairs; a repeated value is one row. */
const INSERT_ATTRIBUTES = `INSERT OR IGNORE INTO user_attributes (name, value, user_id)
  SELECT value ->> 0, value ->> 1, ? FROM json_each(?)`;

/** Users by id, in id order, read by seeking each id (never a pass over `users`). */
export const USERS_BY_ID = `SELECT ${USER_COLUMNS} FROM json_each(?) j CROSS JOIN users u ON u.id = j.value
  GROUP BY u.id ORDER BY u.id`;

/** Active direct reports of a manager, in id order, from `users_manager`. */
export const REPORTS_OF = `SELECT ${USER_COLUMNS} FROM users u WHERE u.manager_id = ?1 AND u.${ACTIVE}`;

/** `[name, value]` pairs of a user's attributes; a single string is one value. */
function attributePairs(attributes: StoredUser['attributes']): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'string') pairs.push([name, value]);
    else for (const item of value) pairs.push([name, item]);
  }
  return pairs;
}

/** What `after` adds to `before` and what it drops, compared by `key` (each list without repeats in the result). */
function difference<T>(before: readonly T[], after: readonly T[], key: (item: T) => string) {
  const had = new Map(before.map((item) => [key(item), item]));
  const has = new Map(after.map((item) => [key(item), item]));
  return {
    added: [...has].filter(([k]) => !had.has(k)).map(([, item]) => item),
    removed: [...had].filter(([k]) => !has.has(k)).map(([, item]) => item),
  };
}

/** A keyset-paged statement: `base` (whose ordering column is `column`) continued after `?2` when paging. */
function paged(base: string, column: string, after: string | undefined): string {
  return `${base}${after === undefined ? '' : ` AND ${column} > ?2`} ORDER BY ${column} LIMIT ?3`;
}

/** The methods of the user half of the {@link DirectoryStore}; the group half is the rest. */
export type UserMethods =
  | 'putUser'
  | 'getUser'
  | 'getUsers'
  | 'removeUser'
  | 'findBySubject'
  | 'listUsers'
  | 'usersByAttributes'
  | 'reportsOf'
  | 'usersInGroups';

/** The user half of the {@link DirectoryStore}: users, subjects, attribute audiences, reports, group audiences. */
export function createUserDirectory(context: SqliteContext): Pick<DirectoryStore, UserMethods> {
  const { statement, run, transaction } = context;
  const one = (id: string) => {
    const row = statement(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`).get(id) as Row | undefined;
    return row === undefined ? undefined : toUser(row);
  };
  const page = (sql: string, params: SqlValue[]) => (statement(sql).all(...params) as Row[]).map(toUser);

  return {
    putUser: (user) =>
      run(() =>
        transaction(() => {
          const keys = [...new Set((user.subjects ?? []).flatMap((subject) => subjectKeys(subject)))];
          if (keys.length > 0) {
            const held = statement(
              'SELECT key, user_id FROM user_subjects WHERE key IN (SELECT value FROM json_each(?)) AND user_id <> ? LIMIT 1',
            ).get(JSON.stringify(keys), user.id) as Row | undefined;
            if (held !== undefined) {
              throw new IdrelayError(
                'ERR_DIRECTORY_CONFLICT',
                `The subject ${text(held.key)} already belongs to user ${text(held.user_id)}; ${user.id} was not written.`,
                { details: { subject: text(held.key), userId: text(held.user_id) } },
              );
            }
          }
          const previous = one(user.id);
          statement(UPSERT_USER).run(...userValues(user));
          // Only active users are audience candidates: the index holds nobody else, so filters never check `users`.
          // Rows are changed by difference with what the user had: a changed title touches two index rows, not all.
          const pairs = user.active === false ? [] : attributePairs(user.attributes);
          const had = previous === undefined || previous.active === false ? [] : attributePairs(previous.attributes);
          const { added, removed } = difference(had, pairs, (pair) => `${pair[0]}\u0000${pair[1]}`);
          if (removed.length > 0) {
            statement(
              `DELETE FROM user_attributes WHERE user_id = ?
               AND (name, value) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))`,
            ).run(user.id, JSON.stringify(removed));
          }
          if (added.length > 0) statement(INSERT_ATTRIBUTES).run(user.id, JSON.stringify(added));
          const heldKeys =
            previous === undefined ? [] : [...new Set((previous.subjects ?? []).flatMap((s) => subjectKeys(s)))];
          const subjects = difference(heldKeys, keys, (key) => key);
          if (subjects.removed.length > 0) {
            statement('DELETE FROM user_subjects WHERE user_id = ? AND key IN (SELECT value FROM json_each(?))').run(
              user.id,
              JSON.stringify(subjects.removed),
            );
          }
          if (subjects.added.length > 0) {
            statement('INSERT INTO user_subjects (key, user_id) SELECT value, ? FROM json_each(?)').run(
              user.id,
              JSON.stringify(subjects.added),
            );
          }
          return previous === undefined ? { created: true } : { created: false, previous };
        }),
      ),
    getUser: (id) => run(() => one(id)),
    getUsers: async (ids) => {
      checkIds('ids', ids);
      return run(() => {
        return ids.length === 0 ? [] : page(USERS_BY_ID, [JSON.stringify(ids)]);
      });
    },
    removeUser: (id) =>
      run(() =>
        transaction(() => {
          statement("DELETE FROM resource_approvers WHERE member_id = ? AND kind = 'user'").run(id);
          // Subjects, attributes and memberships go with the row (ON DELETE CASCADE).
          return Number(statement('DELETE FROM users WHERE id = ?').run(id).changes) > 0;
        }),
      ),
    findBySubject: (keys) =>
      run(() => {
        for (const key of keys) {
          const row = statement(
            `SELECT ${USER_COLUMNS} FROM user_subjects s CROSS JOIN users u ON u.id = s.user_id WHERE s.key = ?`,
          ).get(key) as Row | undefined;
          if (row !== undefined) return toUser(row);
        }
        return undefined;
      }),
    listUsers: async ({ after, limit }) => {
      checkPage({ limit });
      return run(() => {
        return page(paged(`SELECT ${USER_COLUMNS} FROM users u WHERE true`, 'u.id', after), [
          null,
          after ?? null,
          limit,
        ]);
      });
    },
    usersByAttributes: async (filter, { after, limit }) => {
      checkPage({ limit });
      return run(() => {
        const keys = Object.entries(filter).map(
          ([name, values]) => [name, [...new Set(typeof values === 'string' ? [values] : values)]] as const,
        );
        if (keys.some(([, values]) => values.length === 0)) return [];
        if (keys.length === 0) {
          return page(paged(`SELECT ${USER_COLUMNS} FROM users u WHERE u.${ACTIVE}`, 'u.id', after), [
            null,
            after ?? null,
            limit,
          ]);
        }
        const query = attributesQuery(keys, after, limit);
        return page(query.sql, query.params);
      });
    },
    reportsOf: async (managerId, { after, limit }) => {
      checkPage({ limit });
      return run(() => {
        return page(paged(REPORTS_OF, 'u.id', after), [managerId, after ?? null, limit]);
      });
    },
    usersInGroups: async (groupIds, { after, limit }) => {
      checkPage({ limit });
      checkIds('groupIds', groupIds);
      return run(() => {
        const distinct = [...new Set(groupIds)];
        if (distinct.length === 0) return [];
        const query = groupsQuery(distinct, after, limit);
        return page(query.sql, query.params);
      });
    },
  };
}
