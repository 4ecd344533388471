import type { DirectoryStore, GroupEdge, GroupMembers } from '@idrelay/core';
import { textArray } from '../array-literal.js';
import type { PgContext, Query } from '../context.js';
import type { AudiencePorts } from './audience.js';
import { afterOf, GROUP_COLUMNS, isMissingReference, notFound, toGroup } from './rows.js';
import type { UserPorts } from './users.js';

/** Groups, memberships, nesting edges and resource approvers. */
export type GroupPorts = Omit<DirectoryStore, keyof UserPorts | keyof AudiencePorts>;

const unique = (ids: readonly string[] | undefined): string[] => [...new Set(ids ?? [])];

/** The ids of `ids` that have no row in `table`; the others are locked against removal until the commit. */
async function missingIds(tx: Query, table: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await tx(`SELECT id FROM ${table} WHERE id = ANY($1::text[]) FOR KEY SHARE`, [textArray(ids)]);
  const found = new Set(rows.map((row) => row.id as string));
  return ids.filter((id) => !found.has(id));
}

/**
 * Groups on `directory_groups`, direct memberships on `directory_members`, nesting on `directory_nesting`
 * (indexed both ways), approvers on `directory_user_approvers`/`directory_group_approvers`. Removals cascade.
 */
export function createGroupPorts(context: PgContext): GroupPorts {
  const { query } = context;
  const users = context.table('directory_users');
  const groups = context.table('directory_groups');
  const members = context.table('directory_members');
  const nesting = context.table('directory_nesting');
  const userApprovers = context.table('directory_user_approvers');
  const groupApprovers = context.table('directory_group_approvers');

  /**
   * Runs `work` in a transaction; a foreign-key violation (a user or group removed by a concurrent call after
   * it was checked) becomes `ERR_DIRECTORY_NOT_FOUND`, rolled back like every other failure.
   */
  const referencing = async <T>(what: string, work: (tx: Query) => Promise<T>): Promise<T> => {
    try {
      return await context.transaction(work);
    } catch (error) {
      if (!isMissingReference(error)) throw error;
      throw notFound(`${what} named a user or group that no longer exists; nothing was changed.`, {}, error);
    }
  };

  const edges = async (column: 'parent_id' | 'child_id', ids: readonly string[]): Promise<GroupEdge[]> => {
    if (ids.length === 0) return [];
    const { rows } = await query(
      `SELECT parent_id, child_id FROM ${nesting} WHERE ${column} = ANY($1::text[]) ORDER BY ${column}, parent_id,
       child_id`,
      [textArray(unique(ids))],
    );
    return rows.map((row) => ({ parent: row.parent_id as string, child: row.child_id as string }));
  };

  return {
    putGroup: (group) =>
      context.transaction(async (tx) => {
        const before = await tx(`SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE id = $1 FOR UPDATE`, [group.id]);
        const { rows } = await tx(
          `INSERT INTO ${groups} (${GROUP_COLUMNS}) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET (${GROUP_COLUMNS}) = ROW(EXCLUDED.*)
           RETURNING (xmax = 0) AS created`,
          [group.id, group.name ?? null, group.privileged ?? null, group.updatedAt],
        );
        const previous = before.rows[0];
        return previous === undefined
          ? { created: rows[0]?.created === true }
          : { created: false, previous: toGroup(previous) };
      }),
    getGroup: async (id) => {
      const { rows } = await query(`SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE id = $1`, [id]);
      return rows[0] === undefined ? undefined : toGroup(rows[0]);
    },
    getGroups: async (ids) => {
      if (ids.length === 0) return [];
      const { rows } = await query(`SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE id = ANY($1::text[]) ORDER BY id`, [
        textArray(ids),
      ]);
      return rows.map(toGroup);
    },
    // Memberships it has and nesting edges either way go with it (ON DELETE CASCADE); approver rows are no reference.
    removeGroup: (id) =>
      context.transaction(async (tx) => {
        await tx(`DELETE FROM ${groupApprovers} WHERE group_id = $1`, [id]);
        return ((await tx(`DELETE FROM ${groups} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
      }),
    listGroups: async (page) => {
      const { rows } = await query(`SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE id > $1 ORDER BY id LIMIT $2`, [
        afterOf(page.after),
        page.limit,
      ]);
      return rows.map(toGroup);
    },
    addMembers: (groupId, add: GroupMembers) =>
      referencing(`addMembers(${JSON.stringify(groupId)})`, async (tx) => {
        const userIds = unique(add.users);
        const groupIds = unique(add.groups);
        // FOR KEY SHARE: a concurrent removeGroup waits for this transaction instead of racing its inserts.
        const group = await tx(`SELECT 1 FROM ${groups} WHERE id = $1 FOR KEY SHARE`, [groupId]);
        const missingUsers = await missingIds(tx, users, userIds);
        const missingGroups = await missingIds(tx, groups, groupIds);
        if (group.rowCount === 0 || missingUsers.length > 0 || missingGroups.length > 0) {
          throw notFound(
            group.rowCount === 0
              ? `addMembers: there is no group ${JSON.stringify(groupId)}; nothing was changed.`
              : `addMembers(${JSON.stringify(groupId)}): ${missingUsers.length} user(s) and ${missingGroups.length} group(s) do not exist; nothing was changed.`,
            { groupId, ...(group.rowCount === 0 ? { group: groupId } : {}), missingUsers, missingGroups },
          );
        }
        let added = 0;
        if (userIds.length > 0) {
          const result = await tx(
            `INSERT INTO ${members} (group_id, user_id) SELECT $1, id FROM unnest($2::text[]) AS u(id)
             ON CONFLICT DO NOTHING`,
            [groupId, textArray(userIds)],
          );
          added += result.rowCount ?? 0;
        }
        if (groupIds.length > 0) {
          const result = await tx(
            `INSERT INTO ${nesting} (parent_id, child_id) SELECT $1, id FROM unnest($2::text[]) AS g(id)
             ON CONFLICT DO NOTHING`,
            [groupId, textArray(groupIds)],
          );
          added += result.rowCount ?? 0;
        }
        return { added };
      }),
    removeMembers: (groupId, remove: GroupMembers) =>
      context.transaction(async (tx) => {
        let removed = 0;
        const userIds = unique(remove.users);
        const groupIds = unique(remove.groups);
        if (userIds.length > 0) {
          const result = await tx(`DELETE FROM ${members} WHERE group_id = $1 AND user_id = ANY($2::text[])`, [
            groupId,
            textArray(userIds),
          ]);
          removed += result.rowCount ?? 0;
        }
        if (groupIds.length > 0) {
          const result = await tx(`DELETE FROM ${nesting} WHERE parent_id = $1 AND child_id = ANY($2::text[])`, [
            groupId,
            textArray(groupIds),
          ]);
          removed += result.rowCount ?? 0;
        }
        return { removed };
      }),
    memberIds: async (groupId, page) => {
      const { rows } = await query(
        `SELECT user_id FROM ${members} WHERE group_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
        [groupId, afterOf(page.after), page.limit],
      );
      return rows.map((row) => row.user_id as string);
    },
    childGroups: (groupIds) => edges('parent_id', groupIds),
    parentGroups: (groupIds) => edges('child_id', groupIds),
    groupsOfUser: async (userId) => {
      const { rows } = await query(
        `SELECT ${GROUP_COLUMNS} FROM ${groups} WHERE id IN (SELECT group_id FROM ${members} WHERE user_id = $1)
         ORDER BY id`,
        [userId],
      );
      return rows.map(toGroup);
    },
    // Stored as given: approvers may name users and groups not written yet (the port trusts its input).
    setApprovers: (resourceId, approvers) =>
      context.transaction(async (tx) => {
        await tx(`DELETE FROM ${userApprovers} WHERE resource_id = $1`, [resourceId]);
        await tx(`DELETE FROM ${groupApprovers} WHERE resource_id = $1`, [resourceId]);
        const userIds = unique(approvers.users);
        const groupIds = unique(approvers.groups);
        if (userIds.length > 0) {
          await tx(
            `INSERT INTO ${userApprovers} (resource_id, user_id) SELECT $1, id FROM unnest($2::text[]) AS u(id)`,
            [resourceId, textArray(userIds)],
          );
        }
        if (groupIds.length > 0) {
          await tx(
            `INSERT INTO ${groupApprovers} (resource_id, group_id) SELECT $1, id FROM unnest($2::text[]) AS g(id)`,
            [resourceId, textArray(groupIds)],
          );
        }
      }),
    getApprovers: async (resourceId) => {
      const { rows } = await query(
        `SELECT 'user' AS kind, user_id AS id FROM ${userApprovers} WHERE resource_id = $1
         UNION ALL SELECT 'group', group_id FROM ${groupApprovers} WHERE resource_id = $1
         ORDER BY kind, id`,
        [resourceId],
      );
      const found = { users: [] as string[], groups: [] as string[] };
      for (const row of rows) (row.kind === 'user' ? found.users : found.groups).push(row.id as string);
      return found;
    },
  };
}
