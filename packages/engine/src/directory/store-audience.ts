import type { AudienceSpec, DirectoryPage, DirectoryStore, StoredGroup, StoredUser } from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';
import { isDirectoryId } from './validate-input.js';

/** The port's bound on ids per call (`getUsers`, `usersInGroups`, `childGroups` …). */
const MAX_IDS = 10_000;

/** What a walk over the store needs: the port, the page size, and a signal to stop at. */
export interface StoreWalk {
  readonly store: DirectoryStore;
  /** 1 … 10,000. */
  readonly pageSize: number;
  readonly signal?: AbortSignal | undefined;
}

const isActive = (user: StoredUser): boolean => user.active !== false;

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * Reads a keyset-paged list one page at a time: the next page is asked for only once the consumer has taken the
 * last row of this one, so memory is one page whatever the length of the list.
 */
export async function* keysetPages<T extends { id: string }>(
  walk: StoreWalk,
  read: (page: DirectoryPage) => Promise<T[]>,
): AsyncGenerator<T> {
  let after: string | undefined;
  for (;;) {
    walk.signal?.throwIfAborted();
    const rows = await read(after === undefined ? { limit: walk.pageSize } : { after, limit: walk.pageSize });
    for (const row of rows) {
      walk.signal?.throwIfAborted();
      yield row;
    }
    if (rows.length < walk.pageSize) return;
    after = rows[rows.length - 1]!.id;
  }
}

/**
 * Every group reachable from `roots` through nesting, roots included: breadth first, one `childGroups` call per
 * level (per 10,000 groups), with a visited set so a cycle ends the walk instead of looping.
 */
export async function groupClosure(walk: StoreWalk, roots: readonly string[]): Promise<string[]> {
  const visited = new Set(roots.filter(isDirectoryId));
  let frontier = [...visited];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const chunk of chunks(frontier, MAX_IDS)) {
      walk.signal?.throwIfAborted();
      for (const { child } of await walk.store.childGroups(chunk)) {
        if (visited.has(child)) continue;
        visited.add(child);
        next.push(child);
      }
    }
    frontier = next;
  }
  return [...visited];
}

/** The active direct members of `groupIds`, each once, in id order when the groups fit one call. */
async function* membersOf(walk: StoreWalk, groupIds: readonly string[], skip?: ReadonlySet<string>) {
  if (groupIds.length <= MAX_IDS) {
    for await (const user of keysetPages(walk, (page) => walk.store.usersInGroups(groupIds, page))) {
      if (skip?.has(user.id) !== true) yield user;
    }
    return;
  }
  // More than 10,000 nested groups: each slice is distinct by itself, but a user can sit in two slices, so this
  // rare case remembers the ids it gave out.
  const seen = new Set(skip);
  for (const slice of chunks(groupIds, MAX_IDS)) {
    for await (const user of keysetPages(walk, (page) => walk.store.usersInGroups(slice, page))) {
      if (seen.has(user.id)) continue;
      seen.add(user.id);
      yield user;
    }
  }
}

/** Active users by id, in the order given, each once; unknown ids are skipped. */
async function* usersById(walk: StoreWalk, ids: readonly string[]): AsyncGenerator<StoredUser> {
  const seen = new Set<string>();
  for (const chunk of chunks(ids.filter(isDirectoryId), Math.min(walk.pageSize, MAX_IDS))) {
    walk.signal?.throwIfAborted();
    const found = new Map((await walk.store.getUsers(chunk)).map((user) => [user.id, user]));
    for (const id of chunk) {
      const user = found.get(id);
      if (user === undefined || !isActive(user) || seen.has(id)) continue;
      seen.add(id);
      walk.signal?.throwIfAborted();
      yield user;
    }
  }
}

/**
 * Streams the active users of an audience from the store, each once. Users, subjects, groups and attribute
 * filters stream in the store's pages; `approvers-of` remembers only its named approver users; `any-of` keeps a
 * set of the ids it yielded (a union of arbitrary audiences cannot be told apart otherwise), so its memory grows
 * with the union, one id string per user.
 */
export async function* resolveFromStore(walk: StoreWalk, audience: AudienceSpec): AsyncGenerator<StoredUser> {
  const { store } = walk;
  switch (audience.kind) {
    case 'users':
      yield* usersById(walk, audience.userIds);
      return;
    case 'subjects': {
      const seen = new Set<string>();
      for (const subject of audience.subjects) {
        walk.signal?.throwIfAborted();
        const user = await store.findBySubject(subjectKeys(subject));
        if (user === undefined || !isActive(user) || seen.has(user.id)) continue;
        seen.add(user.id);
        yield user;
      }
      return;
    }
    case 'group': {
      if (!isDirectoryId(audience.groupId)) return;
      const groups = audience.nested === false ? [audience.groupId] : await groupClosure(walk, [audience.groupId]);
      yield* membersOf(walk, groups);
      return;
    }
    case 'attributes': {
      const filter = Object.fromEntries(
        Object.entries(audience.filter).map(([name, wanted]) => [name, typeof wanted === 'string' ? [wanted] : wanted]),
      );
      // An empty filter would match everyone; core's AudienceSpecSchema refuses it, and so does this.
      if (Object.keys(filter).length === 0) return;
      yield* keysetPages(walk, (page) => store.usersByAttributes(filter, page));
      return;
    }
    case 'manager-of': {
      if (!isDirectoryId(audience.userId)) return;
      const managerId = (await store.getUser(audience.userId))?.managerId;
      if (managerId === undefined) return;
      yield* usersById(walk, [managerId]);
      return;
    }
    case 'approvers-of': {
      if (!isDirectoryId(audience.resourceId)) return;
      const approvers = await store.getApprovers(audience.resourceId);
      const named = new Set<string>();
      for await (const user of usersById(walk, approvers.users)) {
        named.add(user.id);
        yield user;
      }
      if (approvers.groups.length === 0) return;
      yield* membersOf(walk, await groupClosure(walk, approvers.groups), named);
      return;
    }
    case 'any-of': {
      const seen = new Set<string>();
      for (const inner of audience.audiences) {
        for await (const user of resolveFromStore(walk, inner)) {
          if (seen.has(user.id)) continue;
          seen.add(user.id);
          yield user;
        }
      }
      return;
    }
  }
}

/**
 * The groups a user is in: directly, then (with `nested`) every group above those, level by level through
 * `parentGroups`, each once even where nesting has cycles.
 */
export async function* groupsOfUser(walk: StoreWalk, userId: string, nested: boolean): AsyncGenerator<StoredGroup> {
  if (!isDirectoryId(userId)) return;
  walk.signal?.throwIfAborted();
  const direct = await walk.store.groupsOfUser(userId);
  const visited = new Set<string>();
  for (const group of direct) {
    visited.add(group.id);
    walk.signal?.throwIfAborted();
    yield group;
  }
  let frontier = [...visited];
  while (nested && frontier.length > 0) {
    const next: string[] = [];
    for (const chunk of chunks(frontier, MAX_IDS)) {
      walk.signal?.throwIfAborted();
      for (const { parent } of await walk.store.parentGroups(chunk)) {
        if (visited.has(parent)) continue;
        visited.add(parent);
        next.push(parent);
      }
    }
    for (const chunk of chunks(next, MAX_IDS)) {
      walk.signal?.throwIfAborted();
      for (const group of await walk.store.getGroups(chunk)) yield group;
    }
    frontier = next;
  }
}
