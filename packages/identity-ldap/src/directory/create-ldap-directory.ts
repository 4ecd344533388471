import {
  type AudienceSpec,
  type Directory,
  type DirectoryGroup,
  type DirectoryStreamOptions,
  type DirectoryUser,
  IdrelayError,
  type SubjectIdentifier,
} from '@idrelay/core';
import type { Entry } from 'ldapts';
import { chunks, mapConcurrent } from '../ldap/concurrent.js';
import {
  createLdapConnection,
  first,
  type LdapConnection,
  type LdapConnectionOptions,
  values,
} from '../ldap/connection.js';
import { dnKey } from '../ldap/escape.js';
import { attributeRecordFilter, compileFilter, type LdapFilterSpec } from '../ldap/filter.js';
import { checkSchema, LDAP_SCHEMAS, type LdapSchema } from '../ldap/schema.js';
import { rdnValue, toDirectoryUser, userAttributes } from './user-entry.js';

/** Approvers of a resource: users by id and groups by id (expanded with nesting). */
export interface ResourceApprovers {
  users?: readonly string[];
  groups?: readonly string[];
}

/** Options of {@link createLdapDirectory}. */
export interface LdapDirectoryOptions {
  /** A shared connection, or options to open one (closed by `close()` only when opened here). */
  connection: LdapConnection | LdapConnectionOptions;
  /** Search base of people. */
  usersDN: string;
  /** Search base of groups. */
  groupsDN: string;
  /** Attribute mapping; default {@link LDAP_SCHEMAS}.openldap. */
  schema?: LdapSchema;
  /** Ids of groups that carry privilege (admins, production access). */
  privilegedGroups?: readonly string[];
  /** Who approves a resource or role, for `approvers-of` audiences. */
  resourceApprovers?:
    | Readonly<Record<string, ResourceApprovers>>
    | ((resourceId: string) => Promise<ResourceApprovers | undefined>);
  /** Entries per page of a paged search (RFC 2696). Default 500. */
  pageSize?: number;
  /** Searches in flight while expanding a group. Default 16. */
  concurrency?: number;
  /** Group members fetched per search, by id (`(|(uid=a)(uid=b)…)`); at most the server's size limit (often 500). Default 200. */
  batchSize?: number;
  /** Name for logs. Default `ldap:<usersDN>`. */
  name?: string;
}

/** A {@link Directory} over LDAP, with typed-filter search and manager chains. */
export interface LdapDirectory extends Directory {
  /** Streams the people matching a typed filter (combined with the user object class). */
  search(filter: LdapFilterSpec, options?: DirectoryStreamOptions): AsyncIterable<DirectoryUser>;
  /** The user's manager, their manager, … up to `maxDepth` (default 16); stops at a cycle. */
  managerChain(userId: string, options?: { maxDepth?: number }): AsyncIterable<DirectoryUser>;
  /** The DN of a user, or undefined. */
  userDN(userId: string): Promise<string | undefined>;
  /** The DN of a group, or undefined. */
  groupDN(groupId: string): Promise<string | undefined>;
  readonly connection: LdapConnection;
}

const IN_CHAIN = '1.2.840.113556.1.4.1941';

/**
 * Creates a {@link Directory} over an LDAP server: users by id and subject identifier, audiences by typed
 * attribute filter (RFC 4515-escaped), nested groups (a breadth-first walk with a visited set, or AD's
 * in-chain rule), managers and approvers, every audience streamed page by page.
 *
 * @throws {IdrelayError} `ERR_LDAP_CONFIG` for a bad schema mapping or connection options.
 * @example
 * ```ts
 * const directory = createLdapDirectory({
 *   connection: { url: 'ldaps://ldap.example.com', bindDN: 'cn=relay,dc=example,dc=com', password },
 *   usersDN: 'ou=people,dc=example,dc=com',
 *   groupsDN: 'ou=groups,dc=example,dc=com',
 *   privilegedGroups: ['admins'],
 * });
 * for await (const user of directory.resolve({ kind: 'attributes', filter: { department: 'finance' } })) {
 *   console.log(user.id);
 * }
 * ```
 */
export function createLdapDirectory(options: LdapDirectoryOptions): LdapDirectory {
  const schema = checkSchema(options.schema ?? LDAP_SCHEMAS.openldap);
  const owned = !('run' in options.connection);
  const connection = 'run' in options.connection ? options.connection : createLdapConnection(options.connection);
  const pageSize = options.pageSize ?? 500;
  const concurrency = options.concurrency ?? 16;
  const BATCH = options.batchSize ?? 200;
  for (const [name, value] of [
    ['pageSize', pageSize],
    ['concurrency', concurrency],
    ['batchSize', BATCH],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1)
      throw new IdrelayError('ERR_LDAP_CONFIG', `${name} must be a positive integer`);
  }
  const privileged = new Set(options.privilegedGroups ?? []);
  const attributes = userAttributes(schema);
  const isUser = { attribute: 'objectClass', equals: schema.userObjectClass } as const;
  const isGroup = { attribute: 'objectClass', equals: schema.groupObjectClass } as const;
  const resolveName = (name: string): string => {
    const mapped = schema.attributes[name];
    if (mapped !== undefined) return mapped;
    if (name === 'objectClass' || Object.values(schema.attributes).includes(name) || attributes.includes(name)) {
      return name;
    }
    throw new IdrelayError('ERR_LDAP_FILTER', `"${name.slice(0, 64)}" is not a mapped attribute`, {
      details: { attribute: name.slice(0, 128), known: Object.keys(schema.attributes) },
    });
  };
  // Internal filters use the schema's own names; filters from audiences and callers only mapped names.
  const filter = (spec: LdapFilterSpec) => compileFilter(spec);
  const userFilter = (spec: LdapFilterSpec) => `(&${filter(isUser)}${compileFilter(spec, resolveName)})`;
  const managerIds = new Map<string, string | undefined>();

  async function managerId(dn: string): Promise<string | undefined> {
    const fromRdn = rdnValue(dn, schema.id);
    if (fromRdn !== undefined) return fromRdn;
    const key = dn.toLowerCase();
    if (managerIds.has(key)) return managerIds.get(key);
    const entry = await readEntry(dn, [schema.id]);
    const id = entry ? first(entry, schema.id) : undefined;
    if (managerIds.size > 10_000) managerIds.clear();
    managerIds.set(key, id);
    return id;
  }

  async function readEntry(dn: string, attrs: string[], classFilter?: LdapFilterSpec): Promise<Entry | undefined> {
    try {
      const found = await connection.search(dn, {
        scope: 'base',
        filter: classFilter ? filter(classFilter) : '(objectClass=*)',
        attributes: attrs,
      });
      return found[0];
    } catch (error) {
      if ((error as IdrelayError).details?.resultCode === 32) return undefined;
      throw error;
    }
  }

  const toUser = (entry: Entry) => toDirectoryUser(entry, schema, managerId);

  async function usersMatching(spec: LdapFilterSpec, sizeLimit = 0): Promise<Entry[]> {
    return await connection.search(options.usersDN, {
      scope: 'sub',
      filter: filter({ and: [isUser, spec] }),
      attributes,
      sizeLimit,
    });
  }

  async function userEntry(id: string): Promise<Entry | undefined> {
    const found = await usersMatching({ attribute: schema.id, equals: id }, 2);
    if (found.length > 1) {
      throw new IdrelayError('ERR_LDAP_OPERATION', `More than one user has ${schema.id}=${id.slice(0, 64)}`, {
        details: { resultCode: 0, ambiguous: true },
      });
    }
    return found[0];
  }

  async function getUser(id: string): Promise<DirectoryUser | undefined> {
    const entry = await userEntry(id);
    return entry ? await toUser(entry) : undefined;
  }

  function subjectFilter(subject: SubjectIdentifier): LdapFilterSpec | undefined {
    switch (subject.format) {
      case 'email':
        return { attribute: schema.email, equals: subject.email };
      case 'account':
        return { attribute: schema.email, equals: subject.uri.slice('acct:'.length) };
      case 'phone_number':
        return schema.phone ? { attribute: schema.phone, equals: subject.phone_number } : undefined;
      case 'iss_sub':
        return schema.issSub ? { attribute: schema.issSub, equals: `${subject.iss} ${subject.sub}` } : undefined;
      case 'opaque':
        return { attribute: schema.id, equals: subject.id };
      default:
        return undefined;
    }
  }

  async function findBySubject(subject: SubjectIdentifier): Promise<DirectoryUser | undefined> {
    const simple = subject.format === 'aliases' ? subject.identifiers : [subject];
    for (const one of simple) {
      const spec = subjectFilter(one);
      if (!spec) continue;
      const found = await usersMatching(spec, 2);
      if (found.length === 1) return await toUser(found[0]!);
    }
    return undefined;
  }

  async function* searchUsers(compiled: string, stream: DirectoryStreamOptions = {}): AsyncGenerator<DirectoryUser> {
    const pages = connection.pages(
      options.usersDN,
      { scope: 'sub', filter: compiled, attributes, pageSize: stream.pageSize ?? pageSize },
      stream.signal,
    );
    for await (const page of pages) {
      for (const user of await Promise.all(page.map(toUser))) if (user) yield user;
    }
  }

  async function groupEntry(id: string, attrs: string[]): Promise<Entry | undefined> {
    const found = await connection.search(options.groupsDN, {
      scope: 'sub',
      filter: filter({ and: [isGroup, { attribute: schema.groupId, equals: id }] }),
      attributes: attrs,
      sizeLimit: 2,
    });
    return found.length === 1 ? found[0] : undefined;
  }

  const hasClass = (entry: Entry, objectClass: string) =>
    values(entry, 'objectClass').some((c) => c.toLowerCase() === objectClass.toLowerCase());

  /** Users of a group: direct members, and with `nested` members of groups inside it, each group read once. */
  async function* groupUsers(
    groupId: string,
    nested: boolean,
    stream: DirectoryStreamOptions,
  ): AsyncGenerator<DirectoryUser> {
    if (schema.nestedGroups === 'in-chain') {
      const dn = (await groupEntry(groupId, ['1.1']))?.dn;
      if (dn === undefined) return;
      const spec: LdapFilterSpec = nested
        ? { attribute: 'memberOf', rule: IN_CHAIN, equals: dn }
        : { attribute: 'memberOf', equals: dn };
      yield* searchUsers(filter({ and: [isUser, spec] }), stream);
      return;
    }
    const root = await groupEntry(groupId, [schema.member]);
    if (!root) return;
    const visited = new Set<string>([dnKey(root.dn)]);
    let level: Entry[] = [root];
    while (level.length > 0) {
      const next: Entry[] = [];
      const byRdn: string[] = [];
      const others: string[] = [];
      for (const group of level) {
        for (const member of values(group, schema.member)) {
          (rdnValue(member, schema.id) !== undefined ? byRdn : others).push(member);
        }
      }
      type Task = { kind: 'batch'; dns: string[] } | { kind: 'read'; dn: string };
      const tasks: Task[] = [
        ...chunks(byRdn, BATCH).map((dns) => ({ kind: 'batch' as const, dns })),
        ...others.map((dn) => ({ kind: 'read' as const, dn })),
      ];
      const run = async (task: Task): Promise<{ users: Entry[]; groups: Entry[]; missed: string[] }> => {
        if (task.kind === 'read') {
          const entry = await readEntry(task.dn, [...attributes, 'objectClass', schema.member]);
          if (!entry) return { users: [], groups: [], missed: [] };
          if (hasClass(entry, schema.groupObjectClass)) return { users: [], groups: [entry], missed: [] };
          return { users: hasClass(entry, schema.userObjectClass) ? [entry] : [], groups: [], missed: [] };
        }
        const wanted = new Map(task.dns.map((dn) => [dnKey(dn), dn]));
        const found = await usersMatching({
          or: task.dns.map((dn) => ({ attribute: schema.id, equals: rdnValue(dn, schema.id)! })),
        });
        // The same id may exist in another subtree: keep only the entries the group names.
        const users = found.filter((entry) => wanted.delete(dnKey(entry.dn)));
        return { users, groups: [], missed: [...wanted.values()] };
      };
      const followUps: string[] = [];
      for await (const result of mapConcurrent(tasks, concurrency, run, stream.signal)) {
        for (const user of await Promise.all(result.users.map(toUser))) if (user) yield user;
        for (const group of result.groups)
          if (nested && !visited.has(dnKey(group.dn))) {
            visited.add(dnKey(group.dn));
            next.push(group);
          }
        followUps.push(...result.missed);
      }
      // Members named by an id-typed RDN that were not people (or not found by id): read each one.
      for await (const result of mapConcurrent(
        followUps.map((dn) => ({ kind: 'read' as const, dn })),
        concurrency,
        run,
        stream.signal,
      )) {
        for (const user of await Promise.all(result.users.map(toUser))) if (user) yield user;
        for (const group of result.groups)
          if (nested && !visited.has(dnKey(group.dn))) {
            visited.add(dnKey(group.dn));
            next.push(group);
          }
      }
      level = next;
    }
  }

  async function approversOf(resourceId: string): Promise<ResourceApprovers | undefined> {
    const source = options.resourceApprovers;
    if (source === undefined) return undefined;
    if (typeof source === 'function') return await source(resourceId);
    return Object.hasOwn(source, resourceId) ? source[resourceId] : undefined;
  }

  async function* audienceUsers(audience: AudienceSpec, stream: DirectoryStreamOptions): AsyncGenerator<DirectoryUser> {
    switch (audience.kind) {
      case 'users':
        for (const batch of chunks(audience.userIds, BATCH)) {
          stream.signal?.throwIfAborted();
          const entries = await usersMatching({ or: batch.map((id) => ({ attribute: schema.id, equals: id })) });
          const byId = new Map<string, DirectoryUser>();
          for (const user of await Promise.all(entries.map(toUser))) if (user) byId.set(user.id, user);
          for (const id of batch) {
            const user = byId.get(id);
            if (user) yield user;
          }
        }
        return;
      case 'subjects':
        for (const subject of audience.subjects) {
          const user = await findBySubject(subject);
          if (user) yield user;
        }
        return;
      case 'group':
        yield* groupUsers(audience.groupId, audience.nested !== false, stream);
        return;
      case 'attributes':
        yield* searchUsers(userFilter(attributeRecordFilter(audience.filter)), stream);
        return;
      case 'manager-of': {
        const user = await getUser(audience.userId);
        const manager = user?.managerId === undefined ? undefined : await getUser(user.managerId);
        if (manager) yield manager;
        return;
      }
      case 'approvers-of': {
        const approvers = await approversOf(audience.resourceId);
        if (!approvers) return;
        if (approvers.users?.length) yield* audienceUsers({ kind: 'users', userIds: [...approvers.users] }, stream);
        for (const groupId of approvers.groups ?? []) yield* groupUsers(groupId, true, stream);
        return;
      }
      case 'any-of':
        for (const inner of audience.audiences) yield* audienceUsers(inner, stream);
        return;
    }
  }

  function toGroup(entry: Entry): DirectoryGroup | undefined {
    const id = first(entry, schema.groupId);
    if (id === undefined) return undefined;
    const name = schema.groupName ? first(entry, schema.groupName) : undefined;
    return { id, ...(name === undefined ? {} : { name }), ...(privileged.has(id) ? { privileged: true } : {}) };
  }

  const groupAttributes = [schema.groupId, ...(schema.groupName ? [schema.groupName] : [])];

  return {
    name: options.name ?? `ldap:${options.usersDN}`,
    connection,
    getUser,
    findBySubject,
    search: (spec, stream) => searchUsers(userFilter(spec), stream),
    async *resolve(audience, stream = {}) {
      const seen = new Set<string>();
      for await (const user of audienceUsers(audience, stream)) {
        stream.signal?.throwIfAborted();
        if (seen.has(user.id)) continue;
        seen.add(user.id);
        yield user;
      }
    },
    async *groupsOf(userId, stream = {}) {
      const user = await userEntry(userId);
      if (!user) return;
      const memberFilter = (dn: string): LdapFilterSpec =>
        stream.nested && schema.nestedGroups === 'in-chain'
          ? { attribute: schema.member, rule: IN_CHAIN, equals: dn }
          : { attribute: schema.member, equals: dn };
      const seen = new Set<string>();
      let level = [user.dn];
      while (level.length > 0) {
        const next: string[] = [];
        for (const dn of level) {
          stream.signal?.throwIfAborted();
          const groups = await connection.search(options.groupsDN, {
            scope: 'sub',
            filter: filter({ and: [isGroup, memberFilter(dn)] }),
            attributes: groupAttributes,
          });
          for (const entry of groups) {
            const key = dnKey(entry.dn);
            if (seen.has(key)) continue;
            seen.add(key);
            const group = toGroup(entry);
            if (group) yield group;
            if (stream.nested && schema.nestedGroups === 'walk') next.push(entry.dn);
          }
        }
        level = next;
      }
    },
    async *managerChain(userId, chainOptions = {}) {
      const maxDepth = chainOptions.maxDepth ?? 16;
      const seen = new Set<string>([userId]);
      let current = await getUser(userId);
      for (let depth = 0; depth < maxDepth && current?.managerId !== undefined; depth++) {
        if (seen.has(current.managerId)) return;
        seen.add(current.managerId);
        current = await getUser(current.managerId);
        if (current) yield current;
      }
    },
    async userDN(userId) {
      return (await userEntry(userId))?.dn;
    },
    async groupDN(groupId) {
      return (await groupEntry(groupId, ['1.1']))?.dn;
    },
    async close() {
      if (owned) await connection.close();
    },
  };
}
