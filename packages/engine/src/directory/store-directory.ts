import {
  type AudienceSpec,
  type Clock,
  type Directory,
  type DirectoryStreamOptions,
  type GroupMembers,
  IdrelayError,
  type ResourceApprovers,
  type Store,
  type StoredGroup,
  type StoredUser,
  systemClock,
} from '@idrelay/core';
import { normaliseSubject, subjectKeys } from '@idrelay/core/events';
import { groupsOfUser, keysetPages, resolveFromStore, type StoreWalk } from './store-audience.js';
import {
  type DirectoryGroupInput,
  type DirectoryUserInput,
  isDirectoryId,
  validateApprovers,
  validateGroup,
  validateId,
  validateMembers,
  validateUser,
} from './validate-input.js';

/** Options of {@link createStoreDirectory}. */
export interface StoreDirectoryOptions {
  /** Shown in logs. Default `store:<store name>`. */
  name?: string;
  /** Stamps `updatedAt` on every write. Default: the system clock. */
  clock?: Clock;
  /** Users per store query when an audience or a list streams (1 … 10,000). Default 500. */
  pageSize?: number;
}

/**
 * A {@link Directory} kept in the relay's own store, with the writes a users API or a SCIM endpoint needs.
 * Every write is validated first (`ERR_DIRECTORY_INVALID` with `details.issues`); the store then applies it
 * atomically.
 */
export interface StoreDirectory extends Directory {
  /** A user by id, active or not (`undefined` for an unknown or malformed id). */
  getUser(id: string): Promise<StoredUser | undefined>;
  /**
   * The user holding an RFC 9493 subject identifier (any member of `aliases`), active or not.
   *
   * @throws {IdrelayError} `ERR_SUBJECT_INVALID` when `subject` is not a subject identifier.
   */
  findBySubject(subject: Parameters<Directory['findBySubject']>[0]): Promise<StoredUser | undefined>;
  /** The active users of an audience, each once, read from the store one page at a time. */
  resolve(audience: AudienceSpec, options?: DirectoryStreamOptions): AsyncIterable<StoredUser>;
  /** The groups a user is directly in, then (with `nested`) every group above them, each once. */
  groupsOf(userId: string, options?: DirectoryStreamOptions & { nested?: boolean }): AsyncIterable<StoredGroup>;
  /**
   * Inserts or replaces a user as a whole (attributes and subjects included); subjects are stored normalised
   * and the locale canonical. Returns the stored record and, on replace, the one before.
   *
   * @throws {IdrelayError} `ERR_DIRECTORY_INVALID` for malformed input, `ERR_DIRECTORY_CONFLICT` when another
   * user holds one of the subject identifiers (`details.subject`).
   */
  putUser(user: DirectoryUserInput): Promise<{ created: boolean; user: StoredUser; previous?: StoredUser }>;
  /** Removes a user with their memberships and approver entries; `false` when there was none. */
  removeUser(id: string): Promise<boolean>;
  /** A group by id. */
  getGroup(id: string): Promise<StoredGroup | undefined>;
  /** Inserts or replaces a group; its memberships stay. */
  putGroup(group: DirectoryGroupInput): Promise<{ created: boolean; group: StoredGroup; previous?: StoredGroup }>;
  /** Removes a group, every membership it has or is, and its approver entries; `false` when there was none. */
  removeGroup(id: string): Promise<boolean>;
  /**
   * Adds users and nested groups to a group (idempotent); nesting may form cycles, which audiences survive.
   *
   * @throws {IdrelayError} `ERR_DIRECTORY_NOT_FOUND` when the group or a member does not exist (nothing changes).
   */
  addMembers(groupId: string, members: GroupMembers): Promise<{ added: number }>;
  /** Removes direct members; absent ones are ignored. */
  removeMembers(groupId: string, members: GroupMembers): Promise<{ removed: number }>;
  /** Replaces who approves requests for a resource (`approvers-of` audiences); empty lists remove the entry. */
  setApprovers(resourceId: string, approvers: Partial<ResourceApprovers>): Promise<void>;
  /** The approvers of a resource (empty lists when none). */
  getApprovers(resourceId: string): Promise<ResourceApprovers>;
  /** Every user, active or not, in id order, streamed in pages. */
  listUsers(options?: DirectoryStreamOptions): AsyncIterable<StoredUser>;
  /** Every group in id order, streamed in pages. */
  listGroups(options?: DirectoryStreamOptions): AsyncIterable<StoredGroup>;
}

/**
 * Turns the store's directory port into a {@link Directory} the relay resolves audiences from, and the place users
 * and groups are written to when there is no LDAP or SCIM source. Audiences stream page by page (`pageSize`
 * users per store query); nested groups are walked breadth first with a visited set, so cycles end.
 *
 * @example
 * ```ts
 * import { createRelay, createStoreDirectory } from '@idrelay/engine';
 * import { createSqliteStore } from '@idrelay/store-sqlite';
 *
 * const store = await createSqliteStore({ path: '.idrelay/relay.db' });
 * const directory = createStoreDirectory(store);
 * await directory.putUser({ id: 'alice', subjects: [{ format: 'email', email: 'alice@example.com' }], attributes: { department: 'finance' } });
 * await directory.putGroup({ id: 'soc', name: 'Security operations' });
 * await directory.addMembers('soc', { users: ['alice'] });
 * const relay = createRelay({ store, directory, transports });
 * ```
 */
export function createStoreDirectory(store: Store, options: StoreDirectoryOptions = {}): StoreDirectory {
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', `pageSize must be an integer of 1-10,000, got ${pageSize}`);
  }
  const clock = options.clock ?? systemClock;
  const port = store.directory;
  const walk = (stream: DirectoryStreamOptions = {}): StoreWalk => ({
    store: port,
    pageSize: clampPage(stream.pageSize ?? pageSize),
    signal: stream.signal,
  });

  return {
    name: options.name ?? `store:${store.name}`,
    async getUser(id) {
      return isDirectoryId(id) ? port.getUser(id) : undefined;
    },
    async findBySubject(subject) {
      return port.findBySubject(subjectKeys(normaliseSubject(subject)));
    },
    resolve(audience, stream) {
      return resolveFromStore(walk(stream), audience);
    },
    groupsOf(userId, stream = {}) {
      return groupsOfUser(walk(stream), userId, stream.nested === true);
    },
    async putUser(input) {
      const user: StoredUser = { ...validateUser(input), updatedAt: clock.now() };
      const { created, previous } = await port.putUser(user);
      return previous === undefined ? { created, user } : { created, user, previous };
    },
    async removeUser(id) {
      return port.removeUser(validateId(id, 'user id'));
    },
    async getGroup(id) {
      return isDirectoryId(id) ? port.getGroup(id) : undefined;
    },
    async putGroup(input) {
      const group: StoredGroup = { ...validateGroup(input), updatedAt: clock.now() };
      const { created, previous } = await port.putGroup(group);
      return previous === undefined ? { created, group } : { created, group, previous };
    },
    async removeGroup(id) {
      return port.removeGroup(validateId(id, 'group id'));
    },
    async addMembers(groupId, members) {
      const checked = validateMembers(groupId, members);
      return port.addMembers(checked.groupId, checked.members);
    },
    async removeMembers(groupId, members) {
      const checked = validateMembers(groupId, members);
      return port.removeMembers(checked.groupId, checked.members);
    },
    async setApprovers(resourceId, approvers) {
      const checked = validateApprovers(resourceId, approvers);
      await port.setApprovers(checked.resourceId, checked.approvers);
    },
    async getApprovers(resourceId) {
      return isDirectoryId(resourceId) ? port.getApprovers(resourceId) : { users: [], groups: [] };
    },
    listUsers(stream) {
      const w = walk(stream);
      return keysetPages(w, (page) => port.listUsers(page));
    },
    listGroups(stream) {
      const w = walk(stream);
      return keysetPages(w, (page) => port.listGroups(page));
    },
  };
}

/** A caller's page size hint, kept inside what the port accepts. */
const clampPage = (size: number): number =>
  Number.isFinite(size) ? Math.min(10_000, Math.max(1, Math.trunc(size))) : 500;
