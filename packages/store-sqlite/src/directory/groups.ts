import type { DirectoryStore, GroupEdge, GroupMembers, ResourceApprovers } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import type { Row, SqliteContext } from '../driver.js';
import { text } from '../driver.js';
import { checkIds, checkPage, GROUP_COLUMNS, toGroup } from './rows.js';
import type { UserMethods } from './users.js';

/** Upserts a group's row; never `INSERT OR REPLACE`, whose delete would cascade to its memberships. */
const UPSERT_GROUP = `INSERT INTO directory_groups (id, name, privileged, updated_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, privileged = excluded.privileged,
    updated_at = excluded.updated_at`;

/** Ids of a JSON array that name no row of `table` (`users` or `directory_groups`). */
const missingIn = (table: string) =>
  `SELECT DISTINCT j.value AS id FROM json_each(?) j WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.id = j.value)
   ORDER BY 1`;

/** Nesting edges with an end among a JSON array of group ids, seeking each id in the index of that end. */
export const CHILD_EDGES = `SELECT e.parent_id, e.child_id FROM json_each(?) j CROSS JOIN group_nesting e
  ON e.parent_id = j.value GROUP BY e.parent_id, e.child_id ORDER BY e.parent_id, e.child_id`;
export const PARENT_EDGES = `SELECT e.parent_id, e.child_id FROM json_each(?) j CROSS JOIN group_nesting e
  ON e.child_id = j.value GROUP BY e.parent_id, e.child_id ORDER BY e.child_id, e.parent_id`;

const toEdge = (row: Row): GroupEdge => ({ parent: text(row.parent_id)!, child: text(row.child_id)! });
const distinct = (ids: readonly string[] | undefined): string[] => [...new Set(ids ?? [])];

/** The group half of the {@link DirectoryStore}: groups, memberships, nesting edges and resource approvers. */
export function createGroupDirectory(context: SqliteContext): Omit<DirectoryStore, UserMethods> {
  const { statement, run, transaction } = context;
  const one = (id: string) => {
    const row = statement(`SELECT ${GROUP_COLUMNS} FROM directory_groups g WHERE g.id = ?`).get(id) as Row | undefined;
    return row === undefined ? undefined : toGroup(row);
  };
  const ids = (sql: string, list: readonly string[]) =>
    (statement(sql).all(JSON.stringify(list)) as Row[]).map((row) => text(row.id)!);

  /** Throws `ERR_DIRECTORY_NOT_FOUND` naming every missing group and user, before anything is written. */
  function assertExist(groupId: string, members: { users: string[]; groups: string[] }): void {
    const missing = {
      groups: ids(missingIn('directory_groups'), [groupId, ...members.groups]),
      users: ids(missingIn('users'), members.users),
    };
    if (missing.groups.length === 0 && missing.users.length === 0) return;
    const names = [...missing.groups.map((id) => `group ${id}`), ...missing.users.map((id) => `user ${id}`)];
    throw new IdrelayError('ERR_DIRECTORY_NOT_FOUND', `No ${names.join(', ')} in the directory; nothing was added.`, {
      details: missing,
    });
  }

  return {
    putGroup: (group) =>
      run(() =>
        transaction(() => {
          const previous = one(group.id);
          statement(UPSERT_GROUP).run(
            group.id,
            group.name ?? null,
            group.privileged === undefined ? null : group.privileged ? 1 : 0,
            group.updatedAt,
          );
          return previous === undefined ? { created: true } : { created: false, previous };
        }),
      ),
    getGroup: (id) => run(() => one(id)),
    getGroups: async (list) => {
      checkIds('ids', list);
      return run(() => {
        if (list.length === 0) return [];
        return (
          statement(
            `SELECT ${GROUP_COLUMNS} FROM json_each(?) j CROSS JOIN directory_groups g ON g.id = j.value
             GROUP BY g.id ORDER BY g.id`,
          ).all(JSON.stringify(list)) as Row[]
        ).map(toGroup);
      });
    },
    removeGroup: (id) =>
      run(() =>
        transaction(() => {
          // An approver entry outliving its group would hand approval to a group later created under the same id.
          statement("DELETE FROM resource_approvers WHERE member_id = ? AND kind = 'group'").run(id);
          // Memberships and nesting edges in both directions go with the row (ON DELETE CASCADE).
          return Number(statement('DELETE FROM directory_groups WHERE id = ?').run(id).changes) > 0;
        }),
      ),
    listGroups: async ({ after, limit }) => {
      checkPage({ limit });
      return run(() => {
        const cursor = after === undefined ? '' : 'WHERE g.id > ?2';
        return (
          statement(`SELECT ${GROUP_COLUMNS} FROM directory_groups g ${cursor} ORDER BY g.id LIMIT ?1`).all(
            ...(after === undefined ? [limit] : [limit, after]),
          ) as Row[]
        ).map(toGroup);
      });
    },
    addMembers: (groupId, members: GroupMembers) =>
      run(() =>
        transaction(() => {
          const users = distinct(members.users);
          const groups = distinct(members.groups);
          assertExist(groupId, { users, groups });
          let added = 0;
          if (users.length > 0) {
            added += Number(
              statement(
                'INSERT OR IGNORE INTO group_members (group_id, user_id) SELECT ?, value FROM json_each(?)',
              ).run(groupId, JSON.stringify(users)).changes,
            );
          }
          if (groups.length > 0) {
            added += Number(
              statement(
                'INSERT OR IGNORE INTO group_nesting (parent_id, child_id) SELECT ?, value FROM json_each(?)',
              ).run(groupId, JSON.stringify(groups)).changes,
            );
          }
          return { added };
        }),
      ),
    removeMembers: (groupId, members: GroupMembers) =>
      run(() =>
        transaction(() => {
          const users = JSON.stringify(distinct(members.users));
          const groups = JSON.stringify(distinct(members.groups));
          const removed =
            Number(
              statement(
                'DELETE FROM group_members WHERE group_id = ? AND user_id IN (SELECT value FROM json_each(?))',
              ).run(groupId, users).changes,
            ) +
            Number(
              statement(
                'DELETE FROM group_nesting WHERE parent_id = ? AND child_id IN (SELECT value FROM json_each(?))',
              ).run(groupId, groups).changes,
            );
          return { removed };
        }),
      ),
    memberIds: async (groupId, { after, limit }) => {
      checkPage({ limit });
      return run(() => {
        const cursor = after === undefined ? '' : 'AND user_id > ?3';
        return (
          statement(`SELECT user_id FROM group_members WHERE group_id = ?1 ${cursor} ORDER BY user_id LIMIT ?2`).all(
            ...(after === undefined ? [groupId, limit] : [groupId, limit, after]),
          ) as Row[]
        ).map((row) => text(row.user_id)!);
      });
    },
    childGroups: async (groupIds) => {
      checkIds('groupIds', groupIds);
      return run(() => {
        return groupIds.length === 0 ? [] : (statement(CHILD_EDGES).all(JSON.stringify(groupIds)) as Row[]).map(toEdge);
      });
    },
    parentGroups: async (groupIds) => {
      checkIds('groupIds', groupIds);
      return run(() => {
        return groupIds.length === 0
          ? []
          : (statement(PARENT_EDGES).all(JSON.stringify(groupIds)) as Row[]).map(toEdge);
      });
    },
    groupsOfUser: (userId) =>
      run(() =>
        (
          statement(
            `SELECT ${GROUP_COLUMNS} FROM group_members m CROSS JOIN directory_groups g ON g.id = m.group_id
             WHERE m.user_id = ? ORDER BY m.group_id`,
          ).all(userId) as Row[]
        ).map(toGroup),
      ),
    setApprovers: (resourceId, approvers: ResourceApprovers) =>
      run(() =>
        transaction(() => {
          statement('DELETE FROM resource_approvers WHERE resource_id = ?').run(resourceId);
          const insert = statement(
            'INSERT OR IGNORE INTO resource_approvers (resource_id, kind, member_id) SELECT ?, ?, value FROM json_each(?)',
          );
          if (approvers.users.length > 0) insert.run(resourceId, 'user', JSON.stringify(approvers.users));
          if (approvers.groups.length > 0) insert.run(resourceId, 'group', JSON.stringify(approvers.groups));
        }),
      ),
    getApprovers: (resourceId) =>
      run(() => {
        const approvers: ResourceApprovers = { users: [], groups: [] };
        const rows = statement(
          'SELECT kind, member_id FROM resource_approvers WHERE resource_id = ? ORDER BY kind, member_id',
        ).all(resourceId) as Row[];
        for (const row of rows)
          (text(row.kind) === 'group' ? approvers.groups : approvers.users).push(text(row.member_id)!);
        return approvers;
      }),
  };
}
