import { createHash } from 'node:crypto';

/** A user to seed the in-memory OTDS with. */
export interface OtdsSeedUser {
  /** The id OTDS addresses the user by, e.g. `alice@Content Server Members`. */
  id: string;
  /** Login name; default the id up to its last `@`. */
  name?: string;
  /** `userPartitionID`; default the id after its last `@`, or `Content Server Members`. */
  partition?: string;
  /** Attributes; a string is stored as a one-element list. */
  attributes?: Record<string, string | readonly string[]>;
}

/** A group to seed the in-memory OTDS with. */
export interface OtdsSeedGroup {
  id: string;
  name?: string;
  partition?: string;
  /** Ids of the users directly in the group. */
  members?: readonly string[];
  /** Ids of the groups nested directly in this group. */
  groups?: readonly string[];
  attributes?: Record<string, string | readonly string[]>;
}

/** A user as the in-memory OTDS holds it. */
export interface OtdsMockUser {
  id: string;
  name: string;
  partition: string;
  uuid: string;
  attributes: Map<string, string[]>;
}

/** A group as the in-memory OTDS holds it. */
export interface OtdsMockGroup {
  id: string;
  name: string;
  partition: string;
  uuid: string;
  attributes: Map<string, string[]>;
  /** Direct user members, in insertion order. */
  members: Set<string>;
  /** Directly nested groups. */
  groups: Set<string>;
}

/**
 * The directory behind the msw handlers: users, groups, direct memberships and nested groups. Tests mutate it
 * between polls (`setAttribute`, `addMember` …) and read it after a write-back.
 */
export interface OtdsMockState {
  readonly users: ReadonlyMap<string, OtdsMockUser>;
  readonly groups: ReadonlyMap<string, OtdsMockGroup>;
  /** Adds or replaces a user. */
  upsertUser(user: OtdsSeedUser): void;
  /** Deletes a user and its memberships; false when there was none. */
  removeUser(id: string): boolean;
  /** Replaces one attribute of a user (`[]` or `undefined` removes it). Throws for an unknown user. */
  setAttribute(userId: string, name: string, values: string | readonly string[] | undefined): void;
  upsertGroup(group: OtdsSeedGroup): void;
  removeGroup(id: string): boolean;
  addMember(groupId: string, userId: string): void;
  removeMember(groupId: string, userId: string): void;
  /** Nests `childId` in `parentId`. */
  nestGroup(parentId: string, childId: string): void;
  unnestGroup(parentId: string, childId: string): void;
  /** The ids of the groups `userId` is directly in. */
  groupsOfUser(userId: string): string[];
  /** The ids of the groups `groupId` is directly nested in. */
  parentsOfGroup(groupId: string): string[];
}

function uuidOf(kind: string, id: string): string {
  const hex = createHash('sha256').update(`${kind}\0${id}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function attributeMap(attributes: Record<string, string | readonly string[]> | undefined): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const [name, value] of Object.entries(attributes ?? {})) {
    map.set(name, typeof value === 'string' ? [value] : [...value]);
  }
  return map;
}

function splitId(id: string, partition: string | undefined, name: string | undefined) {
  const at = id.lastIndexOf('@');
  return {
    name: name ?? (at > 0 ? id.slice(0, at) : id),
    partition: partition ?? (at > 0 ? id.slice(at + 1) : 'Content Server Members'),
  };
}

/** Builds the state from seed users and groups (groups may name each other in any order). */
export function createOtdsState(
  seedUsers: readonly OtdsSeedUser[],
  seedGroups: readonly OtdsSeedGroup[],
): OtdsMockState {
  const users = new Map<string, OtdsMockUser>();
  const groups = new Map<string, OtdsMockGroup>();

  function needUser(id: string): OtdsMockUser {
    const user = users.get(id);
    if (user === undefined) throw new Error(`in-memory OTDS: no user ${id}`);
    return user;
  }
  function needGroup(id: string): OtdsMockGroup {
    const group = groups.get(id);
    if (group === undefined) throw new Error(`in-memory OTDS: no group ${id}`);
    return group;
  }

  const state: OtdsMockState = {
    users,
    groups,
    upsertUser(seed) {
      const { name, partition } = splitId(seed.id, seed.partition, seed.name);
      users.set(seed.id, {
        id: seed.id,
        name,
        partition,
        uuid: uuidOf('user', seed.id),
        attributes: attributeMap(seed.attributes),
      });
    },
    removeUser(id) {
      for (const group of groups.values()) group.members.delete(id);
      return users.delete(id);
    },
    setAttribute(userId, name, values) {
      const user = needUser(userId);
      const list = values === undefined ? [] : typeof values === 'string' ? [values] : [...values];
      if (list.length === 0) user.attributes.delete(name);
      else user.attributes.set(name, list);
    },
    upsertGroup(seed) {
      const { name, partition } = splitId(seed.id, seed.partition, seed.name);
      groups.set(seed.id, {
        id: seed.id,
        name,
        partition,
        uuid: uuidOf('group', seed.id),
        attributes: attributeMap(seed.attributes),
        members: new Set(seed.members ?? []),
        groups: new Set(seed.groups ?? []),
      });
    },
    removeGroup(id) {
      for (const group of groups.values()) group.groups.delete(id);
      return groups.delete(id);
    },
    addMember(groupId, userId) {
      needUser(userId);
      needGroup(groupId).members.add(userId);
    },
    removeMember(groupId, userId) {
      needGroup(groupId).members.delete(userId);
    },
    nestGroup(parentId, childId) {
      needGroup(childId);
      needGroup(parentId).groups.add(childId);
    },
    unnestGroup(parentId, childId) {
      needGroup(parentId).groups.delete(childId);
    },
    groupsOfUser(userId) {
      return [...groups.values()].filter((group) => group.members.has(userId)).map((group) => group.id);
    },
    parentsOfGroup(groupId) {
      return [...groups.values()].filter((group) => group.groups.has(groupId)).map((group) => group.id);
    },
  };
  for (const user of seedUsers) state.upsertUser(user);
  for (const group of seedGroups) state.upsertGroup(group);
  return state;
}
