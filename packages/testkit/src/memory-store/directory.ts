import type {
  DirectoryPage,
  DirectoryStore,
  GroupEdge,
  GroupMembers,
  ResourceApprovers,
  StoredGroup,
  StoredUser,
} from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';
import { clone } from './state.js';

/**
 * Compares two strings by Unicode code point, as SQLite's BINARY collation and PostgreSQL's `C` collation on UTF-8
 * do. JavaScript's `<` compares UTF-16 code units, which puts astral characters (surrogates, U+D800…) before
 * U+E000…U+FFFF; shifting surrogates above that range restores code-point order.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x - y;
  }
  return a.length - b.length;
}

/** A list of ids kept in code-point order, sorted again only after it changed. */
class SortedIds {
  #ids = new Set<string>();
  #sorted: string[] | undefined = [];
  add(id: string): void {
    if (this.#ids.has(id)) return;
    this.#ids.add(id);
    this.#sorted = undefined;
  }
  delete(id: string): void {
    if (this.#ids.delete(id)) this.#sorted = undefined;
  }
  get all(): readonly string[] {
    this.#sorted ??= [...this.#ids].sort(compareCodePoints);
    return this.#sorted;
  }
}

/** The ids strictly after `page.after`, at most `page.limit`, from `ids` already in code-point order. */
function* after(ids: readonly string[], page: DirectoryPage): Generator<string> {
  let lo = 0;
  if (page.after !== undefined) {
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareCodePoints(ids[mid]!, page.after) <= 0) lo = mid + 1;
      else hi = mid;
    }
  }
  for (let i = lo; i < ids.length; i++) yield ids[i]!;
}

function take<T>(source: Iterable<string>, limit: number, pick: (id: string) => T | undefined): T[] {
  const out: T[] = [];
  if (limit <= 0) return out;
  for (const id of source) {
    const value = pick(id);
    if (value === undefined) continue;
    out.push(value);
    if (out.length >= limit) break;
  }
  return out;
}

const valuesOf = (value: string | readonly string[]): readonly string[] =>
  typeof value === 'string' ? [value] : value;
const isActive = (user: StoredUser): boolean => user.active !== false;

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  const found = map.get(key);
  if (found !== undefined) return found;
  const set = new Set<V>();
  map.set(key, set);
  return set;
}

function unlink<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (set === undefined) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/**
 * The directory port in memory, indexed like the SQL stores: subject keys, (name, value) → users, members both
 * ways, nesting edges both ways. Every list is in code-point order of ids and paged by keyset.
 */
export function createMemoryDirectoryStore(): DirectoryStore {
  const users = new Map<string, StoredUser>();
  const userIds = new SortedIds();
  const bySubject = new Map<string, string>();
  /** attribute name → value → user ids. */
  const byAttribute = new Map<string, Map<string, Set<string>>>();
  const byManager = new Map<string, Set<string>>();
  const groups = new Map<string, StoredGroup>();
  const groupIds = new SortedIds();
  const members = new Map<string, Set<string>>();
  const groupsOfUser = new Map<string, Set<string>>();
  const children = new Map<string, Set<string>>();
  const parents = new Map<string, Set<string>>();
  const approvers = new Map<string, ResourceApprovers>();

  const keysOf = (user: StoredUser): string[] => (user.subjects ?? []).flatMap((subject) => subjectKeys(subject));
  const activeUser = (id: string): StoredUser | undefined => {
    const user = users.get(id);
    return user !== undefined && isActive(user) ? clone(user) : undefined;
  };

  function index(user: StoredUser, add: boolean): void {
    for (const key of keysOf(user)) {
      if (add) bySubject.set(key, user.id);
      else if (bySubject.get(key) === user.id) bySubject.delete(key);
    }
    for (const [name, value] of Object.entries(user.attributes)) {
      for (const v of valuesOf(value)) {
        if (add) setOf(mapOf(byAttribute, name), v).add(user.id);
        else {
          const values = byAttribute.get(name);
          if (values === undefined) continue;
          unlink(values, v, user.id);
          if (values.size === 0) byAttribute.delete(name);
        }
      }
    }
    if (user.managerId !== undefined) {
      if (add) setOf(byManager, user.managerId).add(user.id);
      else unlink(byManager, user.managerId, user.id);
    }
  }

  function sortedSet(ids: Iterable<string>): string[] {
    return [...ids].sort(compareCodePoints);
  }

  function dropFromApprovers(kind: 'users' | 'groups', id: string): void {
    for (const [resourceId, entry] of approvers) {
      if (!entry[kind].includes(id)) continue;
      entry[kind] = entry[kind].filter((x) => x !== id);
      if (entry.users.length === 0 && entry.groups.length === 0) approvers.delete(resourceId);
    }
  }

  return {
    async putUser(input) {
      const user = clone(input);
      const previous = users.get(user.id);
      for (const key of keysOf(user)) {
        const holder = bySubject.get(key);
        if (holder !== undefined && holder !== user.id) {
          throw new IdrelayError('ERR_DIRECTORY_CONFLICT', `The subject ${key} already belongs to another user.`, {
            details: { subject: key, userId: user.id },
          });
        }
      }
      if (previous !== undefined) index(previous, false);
      users.set(user.id, user);
      userIds.add(user.id);
      index(user, true);
      return previous === undefined ? { created: true } : { created: false, previous: clone(previous) };
    },
    async getUser(id) {
      const user = users.get(id);
      return user && clone(user);
    },
    async getUsers(ids) {
      return take(sortedSet(new Set(ids)), Number.POSITIVE_INFINITY, (id) => {
        const user = users.get(id);
        return user && clone(user);
      });
    },
    async removeUser(id) {
      const user = users.get(id);
      if (user === undefined) return false;
      index(user, false);
      users.delete(id);
      userIds.delete(id);
      for (const groupId of groupsOfUser.get(id) ?? []) unlink(members, groupId, id);
      groupsOfUser.delete(id);
      dropFromApprovers('users', id);
      return true;
    },
    async findBySubject(keys) {
      for (const key of keys) {
        const id = bySubject.get(key);
        if (id !== undefined) return clone(users.get(id));
      }
      return undefined;
    },
    async listUsers(page) {
      return take(after(userIds.all, page), page.limit, (id) => clone(users.get(id)));
    },
    async usersByAttributes(filter, page) {
      const entries = Object.entries(filter);
      if (entries.length === 0) return [];
      // The most selective key gives the candidates, as a query planner would pick the narrowest index range.
      const candidates = entries
        .map(([name, wanted]) => {
          const values = byAttribute.get(name);
          const ids = new Set<string>();
          for (const v of wanted) for (const id of values?.get(v) ?? []) ids.add(id);
          return ids;
        })
        .reduce((a, b) => (b.size < a.size ? b : a));
      const matches = (id: string): boolean =>
        entries.every(([name, wanted]) => wanted.some((v) => byAttribute.get(name)?.get(v)?.has(id) === true));
      return take(after(sortedSet(candidates), page), page.limit, (id) => (matches(id) ? activeUser(id) : undefined));
    },
    async reportsOf(managerId, page) {
      return take(after(sortedSet(byManager.get(managerId) ?? []), page), page.limit, activeUser);
    },
    async usersInGroups(ids, page) {
      const found = new Set<string>();
      for (const groupId of ids) for (const id of members.get(groupId) ?? []) found.add(id);
      return take(after(sortedSet(found), page), page.limit, activeUser);
    },

    async putGroup(input) {
      const group = clone(input);
      const previous = groups.get(group.id);
      groups.set(group.id, group);
      groupIds.add(group.id);
      return previous === undefined ? { created: true } : { created: false, previous: clone(previous) };
    },
    async getGroup(id) {
      const group = groups.get(id);
      return group && clone(group);
    },
    async getGroups(ids) {
      return take(sortedSet(new Set(ids)), Number.POSITIVE_INFINITY, (id) => {
        const group = groups.get(id);
        return group && clone(group);
      });
    },
    async removeGroup(id) {
      if (!groups.delete(id)) return false;
      groupIds.delete(id);
      for (const userId of members.get(id) ?? []) unlink(groupsOfUser, userId, id);
      members.delete(id);
      for (const child of children.get(id) ?? []) unlink(parents, child, id);
      for (const parent of parents.get(id) ?? []) unlink(children, parent, id);
      children.delete(id);
      parents.delete(id);
      dropFromApprovers('groups', id);
      return true;
    },
    async listGroups(page) {
      return take(after(groupIds.all, page), page.limit, (id) => clone(groups.get(id)));
    },
    async addMembers(groupId, input) {
      const missing = missingOf(groupId, input);
      if (missing !== undefined) {
        throw new IdrelayError('ERR_DIRECTORY_NOT_FOUND', `No ${missing.kind} ${missing.id} in the directory.`, {
          details: missing,
        });
      }
      let added = 0;
      for (const userId of input.users ?? []) {
        if (setOf(members, groupId).has(userId)) continue;
        setOf(members, groupId).add(userId);
        setOf(groupsOfUser, userId).add(groupId);
        added++;
      }
      for (const child of input.groups ?? []) {
        if (setOf(children, groupId).has(child)) continue;
        setOf(children, groupId).add(child);
        setOf(parents, child).add(groupId);
        added++;
      }
      return { added };
    },
    async removeMembers(groupId, input) {
      let removed = 0;
      for (const userId of new Set(input.users ?? [])) {
        if (members.get(groupId)?.has(userId) !== true) continue;
        unlink(members, groupId, userId);
        unlink(groupsOfUser, userId, groupId);
        removed++;
      }
      for (const child of new Set(input.groups ?? [])) {
        if (children.get(groupId)?.has(child) !== true) continue;
        unlink(children, groupId, child);
        unlink(parents, child, groupId);
        removed++;
      }
      return { removed };
    },
    async memberIds(groupId, page) {
      return take(after(sortedSet(members.get(groupId) ?? []), page), page.limit, (id) => id);
    },
    async childGroups(ids) {
      return edges(ids, children, (parent, child) => ({ parent, child }));
    },
    async parentGroups(ids) {
      return edges(ids, parents, (child, parent) => ({ parent, child }));
    },
    async groupsOfUser(userId) {
      return sortedSet(groupsOfUser.get(userId) ?? []).map((id) => clone(groups.get(id)!));
    },

    async setApprovers(resourceId, input) {
      if (input.users.length === 0 && input.groups.length === 0) approvers.delete(resourceId);
      else approvers.set(resourceId, { users: [...new Set(input.users)], groups: [...new Set(input.groups)] });
    },
    async getApprovers(resourceId) {
      const entry = approvers.get(resourceId);
      return entry === undefined ? { users: [], groups: [] } : clone(entry);
    },
  };

  function missingOf(groupId: string, input: GroupMembers): { kind: 'user' | 'group'; id: string } | undefined {
    if (!groups.has(groupId)) return { kind: 'group', id: groupId };
    const user = input.users?.find((id) => !users.has(id));
    if (user !== undefined) return { kind: 'user', id: user };
    const group = input.groups?.find((id) => !groups.has(id));
    return group === undefined ? undefined : { kind: 'group', id: group };
  }
}

function mapOf<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  const found = map.get(key);
  if (found !== undefined) return found;
  const inner = new Map<K2, V>();
  map.set(key, inner);
  return inner;
}

function edges(
  ids: readonly string[],
  index: Map<string, Set<string>>,
  edge: (from: string, to: string) => GroupEdge,
): GroupEdge[] {
  const out: GroupEdge[] = [];
  for (const from of new Set(ids)) for (const to of index.get(from) ?? []) out.push(edge(from, to));
  return out;
}
