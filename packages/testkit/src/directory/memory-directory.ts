import type {
  AudienceSpec,
  Directory,
  DirectoryGroup,
  DirectoryStreamOptions,
  DirectoryUser,
  SubjectIdentifier,
} from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';

/** A group of the in-memory directory: member users and nested groups. */
export interface MemoryGroup extends DirectoryGroup {
  /** User ids directly in the group. */
  members?: readonly string[];
  /** Ids of groups nested in this one (their members are members of this group too). */
  groups?: readonly string[];
}

/** A user of the in-memory directory; `attributes` may be omitted. */
export type MemoryUser = Omit<DirectoryUser, 'attributes'> & { attributes?: DirectoryUser['attributes'] };

/** Options of {@link createMemoryDirectory}. */
export interface MemoryDirectoryOptions {
  users: readonly MemoryUser[];
  groups?: readonly MemoryGroup[];
  /** Approvers per resource or role id: owners by user id, approver groups by group id. */
  resourceApprovers?: Readonly<Record<string, { users?: readonly string[]; groups?: readonly string[] }>>;
  name?: string;
}

function matches(user: DirectoryUser, filter: Readonly<Record<string, string | readonly string[]>>): boolean {
  return Object.entries(filter).every(([name, wanted]) => {
    const actual = user.attributes[name];
    if (actual === undefined) return false;
    const have = typeof actual === 'string' ? [actual] : actual;
    return (typeof wanted === 'string' ? [wanted] : wanted).some((value) => have.includes(value));
  });
}

/**
 * A `Directory` in memory: users, nested groups, attribute filters, managers, approvers of resources, subject
 * lookup. For tests, examples and the benchmark; it passes {@link directoryContract}. Audiences stream lazily,
 * so a consumer that stops early stops the walk.
 *
 * @example
 * ```ts
 * const directory = createMemoryDirectory({
 *   users: [{ id: 'u-1', subjects: [{ format: 'email', email: 'alice@example.com' }], managerId: 'u-2' }, { id: 'u-2' }],
 *   groups: [{ id: 'soc', members: ['u-2'] }],
 * });
 * for await (const user of directory.resolve({ kind: 'group', groupId: 'soc' })) console.log(user.id);
 * ```
 */
export function createMemoryDirectory(options: MemoryDirectoryOptions): Directory {
  const users = new Map<string, DirectoryUser>();
  const bySubject = new Map<string, string>();
  for (const input of options.users) {
    const user: DirectoryUser = { ...input, attributes: input.attributes ?? {} };
    users.set(user.id, user);
    for (const subject of user.subjects ?? []) for (const key of subjectKeys(subject)) bySubject.set(key, user.id);
  }
  const groups = new Map<string, MemoryGroup>((options.groups ?? []).map((g) => [g.id, g]));
  const parents = new Map<string, string[]>();
  const directGroups = new Map<string, string[]>();
  for (const group of groups.values()) {
    for (const child of group.groups ?? []) parents.set(child, [...(parents.get(child) ?? []), group.id]);
    for (const member of group.members ?? []) directGroups.set(member, [...(directGroups.get(member) ?? []), group.id]);
  }

  function* groupMembers(groupId: string, nested: boolean, visited: Set<string>): Generator<string> {
    if (visited.has(groupId)) return;
    visited.add(groupId);
    const group = groups.get(groupId);
    if (!group) return;
    yield* group.members ?? [];
    if (nested) for (const child of group.groups ?? []) yield* groupMembers(child, true, visited);
  }

  function findBySubjectSync(subject: SubjectIdentifier): DirectoryUser | undefined {
    for (const key of subjectKeys(subject)) {
      const id = bySubject.get(key);
      if (id) return users.get(id);
    }
    return undefined;
  }

  function* ids(audience: AudienceSpec): Generator<string> {
    switch (audience.kind) {
      case 'users':
        yield* audience.userIds;
        return;
      case 'subjects':
        for (const subject of audience.subjects) {
          const user = findBySubjectSync(subject);
          if (user) yield user.id;
        }
        return;
      case 'group':
        yield* groupMembers(audience.groupId, audience.nested !== false, new Set());
        return;
      case 'attributes':
        for (const user of users.values()) if (matches(user, audience.filter)) yield user.id;
        return;
      case 'manager-of': {
        const managerId = users.get(audience.userId)?.managerId;
        if (managerId) yield managerId;
        return;
      }
      case 'approvers-of': {
        const approvers = options.resourceApprovers?.[audience.resourceId];
        yield* approvers?.users ?? [];
        for (const groupId of approvers?.groups ?? []) yield* groupMembers(groupId, true, new Set());
        return;
      }
      case 'any-of':
        for (const inner of audience.audiences) yield* ids(inner);
        return;
    }
  }

  return {
    name: options.name ?? 'memory',
    async getUser(id) {
      return users.get(id);
    },
    async findBySubject(subject) {
      return findBySubjectSync(subject);
    },
    async *resolve(audience: AudienceSpec, streamOptions: DirectoryStreamOptions = {}) {
      const seen = new Set<string>();
      for (const id of ids(audience)) {
        streamOptions.signal?.throwIfAborted();
        if (seen.has(id)) continue;
        seen.add(id);
        const user = users.get(id);
        if (user) yield user;
      }
    },
    async *groupsOf(userId, streamOptions = {}) {
      const seen = new Set<string>();
      const queue = [...(directGroups.get(userId) ?? [])];
      while (queue.length > 0) {
        const id = queue.shift()!;
        if (seen.has(id)) continue;
        seen.add(id);
        const group = groups.get(id);
        if (group)
          yield {
            id: group.id,
            ...(group.name ? { name: group.name } : {}),
            ...(group.privileged ? { privileged: true } : {}),
          };
        if (streamOptions.nested) queue.push(...(parents.get(id) ?? []));
      }
    },
  };
}
