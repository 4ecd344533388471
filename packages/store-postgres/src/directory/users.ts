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

  const writeSubjects = async (tx: Query, user: StoredUser): Promise<void> => {
    await tx(`DELETE FROM ${subjects} WHERE user_id = $1`, [user.id]);
    const keys = keysOf(user);
    if (keys.length === 0) return;
    // DO NOTHING instead of a unique violation: a key another transaction is inserting is waited for, then
    // counted as held, and the statement never aborts with a bare driver error.
    const inserted = await tx(
      `INSERT INTO ${subjects} (key, user_id) SELECT key, $2 FROM unnest($1::text[]) AS k(key)
       ON CONFLICT (key) DO NOTHING RETURNING key`,
      [textArray(keys), user.id],
    );
    if (inserted.rowCount === keys.length) return;
    const mine = new Set(inserted.rows.map((row) => row.key as string));
    const taken = keys.find((key) => !mine.has(key))!;
    const holder = await tx(`SELECT user_id FROM ${subjects} WHERE key = $1`, [taken]);
    throw new IdrelayError(
      'ERR_DIRECTORY_CONFLICT',
      `The subject ${JSON.stringify(taken)} of user ${JSON.stringify(user.id)} is held by another user; nothing was changed.`,
      { details: { subject: taken, userId: user.id, heldBy: holder.rows[0]?.user_id } },
    );
  };

  const writeAttributes = async (tx: Query, user: StoredUser): Promise<void> => {
    await tx(`DELETE FROM ${attributes} WHERE user_id = $1`, [user.id]);
    // Only active users are in an audience, so only they get lookup rows: a walk need not check each candidate.
    if (user.active === false) return;
    const { names, values } = attributePairs(user.attributes);
    if (names.length === 0) return;
    await tx(
      `INSERT INTO ${attributes} (name, value, user_id) SELECT n, v, $3 FROM unnest($1::text[], $2::text[]) AS a(n, v)`,
      [textArray(names), textArray(values), user.id],
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
        await writeSubjects(tx, user);
        await writeAttributes(tx, user);
        const previous = before.rows[0];
        return previous === undefined
          ? { created: rows[0]?.created === true }
          : { created: false, previous: toUser(previous) };
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
