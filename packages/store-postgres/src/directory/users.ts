import { type DirectoryStore, IdrelayError, type StoredUser } from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';
import { textArray } from '../array-literal.js';
import type { PgContext, Query } from '../context.js';
import { toUser, USER_COLUMNS } from './rows.js';

/** The user half of the directory's writes and direct reads (audiences are in `audience.ts`). */
export type UserPorts = Pick<DirectoryStore, 'putUser' | 'getUser' | 'getUsers' | 'removeUser' | 'findBySubject'>;

/** Every (name, value) pair of a user's attributes, each once: a multi-valued attribute is one pair per value. */
export function attributePairs(attributes: StoredUser['attributes']): { names: string[]; values: string[] } {
  const seen = new Set<string>();
  const names: string[] = [];
  const values: string[] = [];
  for (const [name, raw] of Object.entries(attributes)) {
    for (const value of typeof raw === 'string' ? [raw] : raw) {
      // NUL cannot occur in a PostgreSQL text value, so it separates name and value unambiguously.
      const pair = `${name}\u0000${value}`;
      if (seen.has(pair)) continue;
      seen.add(pair);
      names.push(name);
      values.push(value);
    }
  }
  return { names, values };
}

/** The canonical keys of every subject of `user`, each once. */
function keysOf(user: StoredUser): string[] {
  return [...new Set((user.subjects ?? []).flatMap((subject) => subjectKeys(subject)))];
}

/**
 * Users on `directory_users` with their lookup rows. A write is one transaction: the user row (read first under
 * `FOR UPDATE`, for `previous`), its subject keys, then its attribute rows, replaced as a whole.
 */
export function createUserPorts(context: PgContext): UserPorts {
  const { query } = context;
  const users = context.table('directory_users');
  const subjects = context.table('directory_subjects');
  const attributes = context.table('directory_attributes');
  const approvers = context.table('directory_user_approvers');

  /** Writes the subject keys that changed since `previous` (all of them for a new user). */
  const writeSubjects = async (tx: Query, user: StoredUser, previous: StoredUser | undefined): Promise<void> => {
    const keys = keysOf(user);
    const had = previous === undefined ? [] : keysOf(previous);
    const removed = had.filter((key) => !keys.includes(key));
    const added = keys.filter((key) => !had.includes(key));
    if (removed.length > 0) {
      await tx(`DELETE FROM ${subjects} WHERE user_id = $1 AND key = ANY($2::text[])`, [user.id, textArray(removed)]);
    }
    if (added.length === 0) return;
    // DO NOTHING instead of a unique violation: a key another transaction is inserting is waited for, then
    // counted as held, and the statement never aborts with a bare driver error.
    const inserted = await tx(
      `INSERT INTO ${subjects} (key, user_id) SELECT key, $2 FROM unnest($1::text[]) AS k(key)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [textArray(added), user.id],
    );
    if (inserted.rowCount === added.length) return;
    const mine = new Set(inserted.rows.map((row) => row.key as string));
    const taken = added.find((key) => !mine.has(key))!;
    const holder = await tx(`SELECT user_id FROM ${subjects} WHERE key = $1`, [taken]);
    throw new IdrelayError(
      'ERR_DIRECTORY_CONFLICT',
      `The subject ${JSON.stringify(taken)} of user ${JSON.stringify(user.id)} is held by another user; nothing was changed.`,
      { details: { subject: taken, userId: user.id, heldBy: holder.rows[0]?.user_id } },
    );
  };

  /**
   * Writes the attribute rows that changed since `previous`, in one statement: a changed title is one row out and
   * one in. Only active users are in an audience, so only they have lookup rows: a walk need not check each candidate.
   */
  const writeAttributes = async (tx: Query, user: StoredUser, previous: StoredUser | undefined): Promise<void> => {
    const pairs = (u: StoredUser | undefined) => {
      if (u === undefined || u.active === false) return new Map<string, [string, string]>();
      const { names, values } = attributePairs(u.attributes);
      return new Map(names.map((name, i) => [`${name}\u0000${values[i]}`, [name, values[i]!] as [string, string]]));
    };
    const had = pairs(previous);
    const has = pairs(user);
    const removed = [...had].filter(([key]) => !has.has(key)).map(([, pair]) => pair);
    const added = [...has].filter(([key]) => !had.has(key)).map(([, pair]) => pair);
    if (removed.length === 0 && added.length === 0) return;
    await tx(
      `WITH removed AS (
         DELETE FROM ${attributes} a USING unnest($2::text[], $3::text[]) AS r(n, v)
         WHERE a.user_id = $1 AND a.name = r.n AND a.value = r.v)
       INSERT INTO ${attributes} (name, value, user_id) SELECT n, v, $1 FROM unnest($4::text[], $5::text[]) AS x(n, v)
       ON CONFLICT DO NOTHING`,
      [
        user.id,
        textArray(removed.map(([name]) => name)),
        textArray(removed.map(([, value]) => value)),
        textArray(added.map(([name]) => name)),
        textArray(added.map(([, value]) => value)),
      ],
    );
  };

  return {
    putUser: (user) =>
      context.transaction(async (tx) => {
        const before = await tx(`SELECT ${USER_COLUMNS} FROM ${users} WHERE id = $1 FOR UPDATE`, [user.id]);
        const { rows } = await tx(
          `INSERT INTO ${users} (${USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET (${USER_COLUMNS}) = ROW(EXCLUDED.*)
           RETURNING (xmax = 0) AS created`,
          [
            user.id,
            user.displayName ?? null,
            user.locale ?? null,
            user.timeZone ?? null,
            user.managerId ?? null,
            user.active ?? true,
            JSON.stringify(user.attributes),
            user.subjects === undefined ? null : JSON.stringify(user.subjects),
            user.updatedAt,
          ],
        );
        const previous = before.rows[0] === undefined ? undefined : toUser(before.rows[0]);
        await writeSubjects(tx, user, previous);
        await writeAttributes(tx, user, previous);
        return previous === undefined ? { created: rows[0]?.created === true } : { created: false, previous };
      }),
    getUser: async (id) => {
      const { rows } = await query(`SELECT ${USER_COLUMNS} FROM ${users} WHERE id = $1`, [id]);
      return rows[0] === undefined ? undefined : toUser(rows[0]);
    },
    getUsers: async (ids) => {
      if (ids.length === 0) return [];
      const { rows } = await query(`SELECT ${USER_COLUMNS} FROM ${users} WHERE id = ANY($1::text[]) ORDER BY id`, [
        textArray(ids),
      ]);
      return rows.map(toUser);
    },
    // Subjects, attributes and memberships go with the row (ON DELETE CASCADE); approver rows are no reference.
    removeUser: (id) =>
      context.transaction(async (tx) => {
        await tx(`DELETE FROM ${approvers} WHERE user_id = $1`, [id]);
        return ((await tx(`DELETE FROM ${users} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
      }),
    findBySubject: async (keys) => {
      if (keys.length === 0) return undefined;
      const { rows } = await query(
        `SELECT ${USER_COLUMNS} FROM ${users}
         WHERE id = (SELECT user_id FROM ${subjects} WHERE key = ANY($1::text[]) ORDER BY user_id LIMIT 1)`,
        [textArray(keys)],
      );
      return rows[0] === undefined ? undefined : toUser(rows[0]);
    },
  };
}
