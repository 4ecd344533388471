import type { SqlValue } from '../driver.js';
import { ACTIVE, USER_COLUMNS } from './rows.js';

/**
 * How many values one query merges. Up to this many, each value is its own index range read in user-id order
 * and SQLite merges the ranges (`MERGE (UNION)`), so a page reads about `limit` rows whatever the audience size.
 * Beyond it (SQLite caps a compound SELECT at 500 terms) the ranges are read through one `IN` and sorted: still
 * indexed, but every page then reads the rest of the matching rows.
 */
export const MERGED_VALUES = 64;

/** One audience page as SQL and its positional parameters (`?1` the limit, `?2` the keyset cursor). */
export interface AudienceQuery {
  sql: string;
  params: SqlValue[];
}

/**
 * The page query of an audience: user ids from the index rows of `from` (aliased `a`, its user column
 * `a.user_id`) whose `column` holds any of `values`, that also pass `checks` (which must leave inactive users out),
 * in user-id order after the cursor; then the whole rows of that page from `users` in the same statement.
 */
function pageQuery(
  from: string,
  column: string,
  values: readonly string[],
  firstValue: number,
  after: boolean,
  checks: string,
): string {
  const cursor = after ? ' AND a.user_id > ?2' : '';
  const arm = (match: string) => `SELECT DISTINCT a.user_id FROM ${from} WHERE ${match}${cursor}${checks}`;
  const ids =
    values.length <= MERGED_VALUES
      ? values.map((_, i) => arm(`${column} = ?${firstValue + i}`)).join(' UNION ')
      : arm(`${column} IN (SELECT value FROM json_each(?${firstValue}))`);
  // The CTE is a co-routine yielding ids in order; the join keeps that order, so the outer ORDER BY costs nothing.
  return `WITH ids (id) AS (${ids} ORDER BY 1 LIMIT ?1)
    SELECT ${USER_COLUMNS} FROM ids CROSS JOIN users u ON u.id = ids.id ORDER BY ids.id`;
}

/** The values of one query: each value as its own parameter, or one JSON array beyond {@link MERGED_VALUES}. */
const valueParams = (values: readonly string[]): SqlValue[] =>
  values.length <= MERGED_VALUES ? [...values] : [JSON.stringify(values)];

/**
 * Active users matching every key of `filter` (a key matches when the user has any of its values). The key with
 * the fewest values drives: its index ranges are merged in user-id order, and each candidate is checked against
 * the other keys by seeking `user_attributes_user` (user, name, value). Only active users have index rows, so no
 * check of `users` is needed. `filter` has at least one key and no key without values; values are distinct.
 */
export function attributesQuery(
  filter: readonly (readonly [string, readonly string[]])[],
  after: string | undefined,
  limit: number,
): AudienceQuery {
  let driver = 0;
  for (let i = 1; i < filter.length; i++) if (filter[i]![1].length < filter[driver]![1].length) driver = i;
  const [name, values] = filter[driver]!;
  const others = filter.filter((_, i) => i !== driver);
  const checks = others
    .map(
      (_, i) => `
       AND EXISTS (SELECT 1 FROM user_attributes b WHERE b.user_id = a.user_id AND b.name = ?${4 + 2 * i}
         AND b.value IN (SELECT value FROM json_each(?${5 + 2 * i})))`,
    )
    .join('');
  const sql = pageQuery(
    'user_attributes a',
    'a.name = ?3 AND a.value',
    values,
    4 + 2 * others.length,
    after !== undefined,
    checks,
  );
  const params: SqlValue[] = [limit, after ?? null, name];
  for (const [otherName, otherValues] of others) params.push(otherName, JSON.stringify(otherValues));
  params.push(...valueParams(values));
  return { sql, params };
}

/** Active users who are direct members of any of `groupIds` (distinct, at least one), each once. */
export function groupsQuery(groupIds: readonly string[], after: string | undefined, limit: number): AudienceQuery {
  const active = `
       AND EXISTS (SELECT 1 FROM users x WHERE x.id = a.user_id AND x.${ACTIVE})`;
  const sql = pageQuery('group_members a', 'a.group_id', groupIds, 3, after !== undefined, active);
  return { sql, params: [limit, after ?? null, ...valueParams(groupIds)] };
}
