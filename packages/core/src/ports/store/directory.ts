import type { DirectoryGroup, DirectoryUser } from '../directory.js';

/**
 * A user as the store keeps them: a {@link DirectoryUser} plus bookkeeping. `subjects` are stored with their
 * canonical keys (`subjectKeys()` from core), so `findBySubject` is one indexed lookup.
 */
export interface StoredUser extends DirectoryUser {
  /**
   * `false` for a deactivated account (SCIM `active: false`, a disabled LDAP entry): still found by id and subject,
   * never in an audience. Default `true`.
   */
  active?: boolean;
  /** When the record was last written (ms since the epoch). */
  updatedAt: number;
}

/** A group as the store keeps it. */
export interface StoredGroup extends DirectoryGroup {
  updatedAt: number;
}

/** Keyset paging: ids strictly after `after` (code-point order), at most `limit` of them. */
export interface DirectoryPage {
  after?: string;
  /** 1 … 10,000. */
  limit: number;
}

/** Members to add to or remove from a group: users and nested groups by id. */
export interface GroupMembers {
  users?: readonly string[];
  groups?: readonly string[];
}

/** Who approves requests for a resource: users, and groups (nested groups included when resolved). */
export interface ResourceApprovers {
  users: string[];
  groups: string[];
}

/** A parent → child edge of group nesting. */
export interface GroupEdge {
  parent: string;
  child: string;
}

/**
 * People, groups, memberships and resource approvers, kept in the relay's own database: the directory of a
 * deployment without LDAP or SCIM, and what the SCIM endpoint writes into. `createStoreDirectory(store)` in
 * `@idrelay/engine` turns it into a {@link Directory} (nesting with cycle detection, streamed audiences) and
 * validates what is written; this port is storage only and trusts its input.
 *
 * - Every list is ordered by id (code-point order) and paged by keyset (`after`), so an audience of any size
 *   streams in constant memory, and a page never repeats or skips a row that existed when paging started.
 * - Attribute filters use an index on (name, value): never a scan of every user. Multi-valued attributes are one
 *   row per value. Matching is exact (case-sensitive).
 * - Group nesting may contain cycles (directories do); the store keeps edges as given and the engine walks them.
 * - Unknown ids: `addMembers` on a missing group or with a missing user or group throws
 *   `ERR_DIRECTORY_NOT_FOUND` and changes nothing. A subject identifier already held by another user (compared by
 *   canonical key) makes `putUser` throw `ERR_DIRECTORY_CONFLICT` with `details.subject` set to that key, and
 *   change nothing.
 * - Removing a user removes their memberships and approver entries (other users' `managerId` stays: a
 *   dangling manager resolves to nobody). Removing a group removes its memberships in both directions and its
 *   approver entries, so a group created later under the same id inherits nothing.
 * - `active` absent and `active: true` are the same; a store may return either.
 */
export interface DirectoryStore {
  /**
   * Inserts or replaces a user: attributes and subjects are replaced as a whole. Returns whether it was new and, on
   * replace, the record before (for a before/after diff).
   */
  putUser(user: StoredUser): Promise<{ created: boolean; previous?: StoredUser }>;
  getUser(id: string): Promise<StoredUser | undefined>;
  /** Users by id, in id order; missing ids are left out. At most 10,000 ids. */
  getUsers(ids: readonly string[]): Promise<StoredUser[]>;
  /** Removes a user with their memberships and approver entries; `true` when it existed. */
  removeUser(id: string): Promise<boolean>;
  /** The user holding any of these canonical subject keys (`subjectKeys()`), or `undefined`. */
  findBySubject(keys: readonly string[]): Promise<StoredUser | undefined>;
  /** All users, active or not, in id order. */
  listUsers(page: DirectoryPage): Promise<StoredUser[]>;
  /**
   * Active users matching every key of `filter`, each key matching when the user has any of its values. Indexed.
   */
  usersByAttributes(filter: Readonly<Record<string, readonly string[]>>, page: DirectoryPage): Promise<StoredUser[]>;
  /** Active users whose direct manager is `managerId`. */
  reportsOf(managerId: string, page: DirectoryPage): Promise<StoredUser[]>;
  /** Active users who are direct members of any of `groupIds` (each once). At most 10,000 group ids. */
  usersInGroups(groupIds: readonly string[], page: DirectoryPage): Promise<StoredUser[]>;

  /** Inserts or replaces a group (its memberships stay). */
  putGroup(group: StoredGroup): Promise<{ created: boolean; previous?: StoredGroup }>;
  getGroup(id: string): Promise<StoredGroup | undefined>;
  /** Groups by id, in id order; missing ids are left out. At most 10,000 ids. */
  getGroups(ids: readonly string[]): Promise<StoredGroup[]>;
  /** Removes a group and every membership it has or is; `true` when it existed. */
  removeGroup(id: string): Promise<boolean>;
  listGroups(page: DirectoryPage): Promise<StoredGroup[]>;
  /** Adds direct members (idempotent); returns how many memberships are new. */
  addMembers(groupId: string, members: GroupMembers): Promise<{ added: number }>;
  /** Removes direct members (absent ones are ignored); returns how many were removed. */
  removeMembers(groupId: string, members: GroupMembers): Promise<{ removed: number }>;
  /** The direct user members of a group, all of them (active or not), in id order. */
  memberIds(groupId: string, page: DirectoryPage): Promise<string[]>;
  /** Nesting edges whose parent is one of `groupIds` (one level down). */
  childGroups(groupIds: readonly string[]): Promise<GroupEdge[]>;
  /** Nesting edges whose child is one of `groupIds` (one level up). */
  parentGroups(groupIds: readonly string[]): Promise<GroupEdge[]>;
  /** The groups a user is a direct member of, in id order. */
  groupsOfUser(userId: string): Promise<StoredGroup[]>;

  /** Replaces the approvers of a resource; empty lists remove the entry. */
  setApprovers(resourceId: string, approvers: ResourceApprovers): Promise<void>;
  /** The approvers of a resource (empty lists when none). */
  getApprovers(resourceId: string): Promise<ResourceApprovers>;
}
