import type { DirectoryPage, DirectoryStore, StoredUser } from '@idrelay/core';
import { textArray } from '../array-literal.js';
import type { PgContext } from '../context.js';
import { afterOf, toUser, USER_COLUMNS } from './rows.js';

/** The paged user lists of the directory: every one a keyset page on user id, whole rows in one statement. */
export type AudiencePorts = Pick<DirectoryStore, 'listUsers' | 'usersByAttributes' | 'reportsOf' | 'usersInGroups'>;

const ACTIVE = 'active';

/**
 * One page of users out of `candidates` (a statement yielding `user_id`s, possibly repeated), in id order: the
 * ids are de-duplicated and cut to the page first, then the rows are read by primary key in one index scan.
 */
const pageOf = (users: string, candidates: string, limit: string): string => `
  SELECT ${USER_COLUMNS} FROM ${users} WHERE id = ANY(ARRAY(
    SELECT DISTINCT hit.user_id FROM ${candidates} ORDER BY 1 LIMIT ${limit}
  )) ORDER BY id`;

/**
 * A check made per candidate row, by index: `OFFSET 0` keeps the planner from turning the EXISTS into a join,
 * which would read every match of the condition (a hash of the whole audience) on every page.
 */
const check = (condition: string): string => `EXISTS (${condition} OFFSET 0)`;

/**
 * The attribute audience of one page, as SQL and parameters.
 *
 * One key leads: for each of its values an index scan of `directory_attributes` (name, value, user_id) walks user
 * ids upwards from `after`, checks per candidate that every other key matches (an index probe each; only active
 * users have attribute rows), and stops after `limit` hits. The per-value lists are merged, de-duplicated and cut to
 * `limit`; the user rows come in the same statement. A page reads the lead's entries from `after` up to its
 * `limit`th hit per value, so a whole audience is walked once, never scanned per page.
 *
 * The key with the fewest values leads (ties: the first), since each of its values costs one walk. Statement
 * texts differ only by the number of keys.
 */
export function attributeQuery(
  table: (name: string) => string,
  filter: Readonly<Record<string, readonly string[]>>,
  page: DirectoryPage,
): { text: string; values: unknown[] } {
  const users = table('directory_users');
  const attributes = table('directory_attributes');
  const keys = Object.keys(filter);
  let lead = keys[0]!;
  for (const key of keys) if (filter[key]!.length < filter[lead]!.length) lead = key;

  const values: unknown[] = [lead, textArray(filter[lead]!), afterOf(page.after), page.limit];
  // Inactive users have no attribute rows (users.ts), so only the other keys are checked.
  const checks: string[] = [];
  for (const key of keys) {
    if (key === lead) continue;
    values.push(key, textArray(filter[key]!));
    const n = values.length;
    checks.push(
      check(`SELECT 1 FROM ${attributes} o WHERE o.name = $${n - 1} AND o.value = ANY($${n}::text[])
        AND o.user_id = a.user_id`),
    );
  }
  const candidates = `unnest($2::text[]) AS v(value) CROSS JOIN LATERAL (
      SELECT a.user_id FROM ${attributes} a
      WHERE a.name = $1 AND a.value = v.value AND a.user_id > $3 ${checks.map((c) => `AND ${c}`).join(' ')}
      ORDER BY a.user_id LIMIT $4
    ) AS hit`;
  return { text: pageOf(users, candidates, '$4'), values };
}

/** `usersInGroups` as SQL: one walk of `directory_members` (group_id, user_id) per group, as attributes do. */
export function groupsQuery(
  table: (name: string) => string,
  groupIds: readonly string[],
  page: DirectoryPage,
): { text: string; values: unknown[] } {
  const users = table('directory_users');
  const candidates = `unnest($1::text[]) AS g(id) CROSS JOIN LATERAL (
      SELECT m.user_id FROM ${table('directory_members')} m
      WHERE m.group_id = g.id AND m.user_id > $2
        AND ${check(`SELECT 1 FROM ${users} u WHERE u.id = m.user_id AND u.${ACTIVE}`)}
      ORDER BY m.user_id LIMIT $3
    ) AS hit`;
  return { text: pageOf(users, candidates, '$3'), values: [textArray(groupIds), afterOf(page.after), page.limit] };
}

/** `listUsers`, `usersByAttributes`, `reportsOf` and `usersInGroups` on the directory tables. */
export function createAudiencePorts(context: PgContext): AudiencePorts {
  const { query } = context;
  const users = context.table('directory_users');

  const read = async (text: string, values: unknown[]): Promise<StoredUser[]> =>
    (await query(text, values)).rows.map(toUser);

  return {
    listUsers: (page) =>
      read(`SELECT ${USER_COLUMNS} FROM ${users} WHERE id > $1 ORDER BY id LIMIT $2`, [
        afterOf(page.after),
        page.limit,
      ]),
    usersByAttributes: async (filter, page) => {
      const keys = Object.keys(filter);
      // No key: every active user matches (an empty conjunction). A key without values matches nobody.
      if (keys.length === 0) {
        return read(`SELECT ${USER_COLUMNS} FROM ${users} WHERE id > $1 AND ${ACTIVE} ORDER BY id LIMIT $2`, [
          afterOf(page.after),
          page.limit,
        ]);
      }
      if (keys.some((key) => filter[key]!.length === 0)) return [];
      const { text, values } = attributeQuery(context.table, filter, page);
      return read(text, values);
    },
    reportsOf: (managerId, page) =>
      read(
        `SELECT ${USER_COLUMNS} FROM ${users} WHERE manager_id = $1 AND id > $2 AND ${ACTIVE} ORDER BY id LIMIT $3`,
        [managerId, afterOf(page.after), page.limit],
      ),
    usersInGroups: async (groupIds, page) => {
      if (groupIds.length === 0) return [];
      const { text, values } = groupsQuery(context.table, groupIds, page);
      return read(text, values);
    },
  };
}
