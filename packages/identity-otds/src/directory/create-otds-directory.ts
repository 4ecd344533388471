import {
  type AudienceSpec,
  type Directory,
  type DirectoryGroup,
  type DirectoryStreamOptions,
  type DirectoryUser,
  IdrelayError,
  isIdrelayError,
  type SimpleSubjectIdentifier,
  type SubjectIdentifier,
} from '@idrelay/core';
import { AudienceSpecSchema, normaliseSubject, subjectKeys } from '@idrelay/core/events';
import type { OtdsClient } from '../client/create-otds-client.js';
import type { OtdsGroup } from '../client/otds-types.js';
import { DEFAULT_ATTRIBUTE_MAPPING, type OtdsAttributeMapping, toDirectoryUser } from './map-user.js';

/** Approvers of a resource or role: owners by user id, approver groups by group id (followed through nesting). */
export interface OtdsApprovers {
  users?: readonly string[];
  groups?: readonly string[];
}

/** Options of {@link createOtdsDirectory}. */
export interface OtdsDirectoryOptions {
  client: OtdsClient;
  /** Name for logs. Default `otds:<baseUrl>`. */
  name?: string;
  /** Only users of this partition in listings (`where_partition_name`). Default every partition. */
  partition?: string;
  /** Which attributes carry the display name, subjects, locale, manager … Merged over the defaults. */
  mapping?: Partial<OtdsAttributeMapping>;
  /** Ids of groups that carry privilege (reported as `privileged` by `groupsOf`). */
  privilegedGroups?: readonly string[];
  /** Approvers per resource id, for `approvers-of` audiences; OTDS itself has no such notion. */
  approvers?: Readonly<Record<string, OtdsApprovers>> | ((resourceId: string) => OtdsApprovers | undefined);
}

/**
 * A `Directory` backed by OTDS: users by id and subject, audiences by attributes, by group (nested groups walked
 * breadth-first with a visited set, so a cycle ends the walk instead of looping), managers and configured
 * approvers. Everything streams page by page. OTDS documents no filter language for `where_filter`, so attribute
 * audiences are matched here, on a listing of all users (of `partition`), and subject lookups use `where_filter`
 * only to narrow candidates that are then compared exactly.
 *
 * @throws IdrelayError `ERR_AUDIENCE_INVALID` from `resolve` for a malformed audience; OTDS failures as `ERR_OTDS_*`.
 * @example
 * ```ts
 * const directory = createOtdsDirectory({ client, privilegedGroups: ['Admins@Content Server Members'] });
 * for await (const user of directory.resolve({ kind: 'attributes', filter: { department: 'finance' } })) {
 *   console.log(user.id, user.subjects);
 * }
 * ```
 */
export function createOtdsDirectory(options: OtdsDirectoryOptions): Directory {
  const { client } = options;
  const mapping: OtdsAttributeMapping = { ...DEFAULT_ATTRIBUTE_MAPPING, ...options.mapping };
  const privileged = new Set(options.privilegedGroups ?? []);
  const approvers = options.approvers;
  const approversOf =
    typeof approvers === 'function'
      ? approvers
      : (id: string) => (approvers !== undefined && Object.hasOwn(approvers, id) ? approvers[id] : undefined);
  const partition = options.partition === undefined ? {} : { partition: options.partition };

  /** Paging options of a listing; `where_partition_name` only for the user listing, where it means something. */
  const pageOptions = (stream?: DirectoryStreamOptions) => ({
    ...(stream?.signal ? { signal: stream.signal } : {}),
    ...(stream?.pageSize ? { pageSize: stream.pageSize } : {}),
  });
  const listOptions = (stream?: DirectoryStreamOptions) => ({ ...partition, ...pageOptions(stream) });

  async function getUser(id: string, stream?: DirectoryStreamOptions): Promise<DirectoryUser | undefined> {
    const user = await client.getUser(id, stream?.signal ? { signal: stream.signal } : {});
    return user === undefined ? undefined : toDirectoryUser(user, mapping);
  }

  function findable(subject: SimpleSubjectIdentifier): boolean {
    switch (subject.format) {
      case 'email':
        return mapping.email.length > 0;
      case 'phone_number':
        return mapping.phone.length > 0;
      case 'iss_sub':
        return Object.hasOwn(mapping.issuers, subject.iss);
      default:
        return false;
    }
  }

  /** A literal the server can narrow by; undefined when only a full listing can find the subject. */
  function hint(subject: SimpleSubjectIdentifier): string | undefined {
    switch (subject.format) {
      case 'email':
        return subject.email;
      case 'iss_sub':
        return subject.sub;
      default:
        return undefined;
    }
  }

  async function findBySubject(subject: SubjectIdentifier, stream?: DirectoryStreamOptions) {
    const wanted = new Set(subjectKeys(normaliseSubject(subject)));
    // Only identifiers the mapping can produce can match; an opaque id or a DID never costs a listing.
    const simple = (subject.format === 'aliases' ? subject.identifiers : [subject]).filter(findable);
    if (simple.length === 0) return undefined;
    const hints = simple.map(hint);
    // One unhinted identifier (a phone number) means the whole directory has to be read once anyway.
    const filters = hints.some((value) => value === undefined) ? [undefined] : [...new Set(hints)];
    for (const filter of filters) {
      const list = { ...listOptions(stream), ...(filter === undefined ? {} : { filter }) };
      for await (const candidate of client.users(list)) {
        const user = toDirectoryUser(candidate, mapping);
        if ((user.subjects ?? []).some((own) => subjectKeys(own).some((key) => wanted.has(key)))) return user;
      }
    }
    return undefined;
  }

  function toGroup(group: OtdsGroup): DirectoryGroup {
    return { id: group.id, name: group.name, ...(privileged.has(group.id) ? { privileged: true } : {}) };
  }

  async function* groupMembers(
    groupId: string,
    nested: boolean,
    seen: Set<string>,
    stream?: DirectoryStreamOptions,
  ): AsyncGenerator<DirectoryUser> {
    const visited = new Set<string>([groupId]);
    const queue = [groupId];
    while (queue.length > 0) {
      const current = queue.shift() as string;
      try {
        for await (const page of client.groupMembers(current, pageOptions(stream))) {
          for (const member of page.users) {
            if (seen.has(member.id)) continue;
            seen.add(member.id);
            yield toDirectoryUser(member, mapping);
          }
          if (!nested) continue;
          for (const child of page.groups) {
            if (visited.has(child.id)) continue;
            visited.add(child.id);
            queue.push(child.id);
          }
        }
      } catch (error) {
        // A group deleted during the walk (or never there) has no members; anything else is a real failure.
        if (!isIdrelayError(error, 'ERR_OTDS_NOT_FOUND')) throw error;
      }
    }
  }

  async function* resolveInto(
    audience: AudienceSpec,
    seen: Set<string>,
    stream?: DirectoryStreamOptions,
  ): AsyncGenerator<DirectoryUser> {
    const once = async function* (user: DirectoryUser | undefined) {
      if (user === undefined || seen.has(user.id)) return;
      seen.add(user.id);
      yield user;
    };
    switch (audience.kind) {
      case 'users':
        for (const id of audience.userIds) yield* once(await getUser(id, stream));
        return;
      case 'subjects':
        for (const subject of audience.subjects) yield* once(await findBySubject(subject, stream));
        return;
      case 'group':
        yield* groupMembers(audience.groupId, audience.nested !== false, seen, stream);
        return;
      case 'attributes':
        for await (const candidate of client.users(listOptions(stream))) {
          if (seen.has(candidate.id) || !matches(candidate.attributes, audience.filter)) continue;
          yield* once(toDirectoryUser(candidate, mapping));
        }
        return;
      case 'manager-of': {
        const managerId = (await getUser(audience.userId, stream))?.managerId;
        if (managerId !== undefined) yield* once(await getUser(managerId, stream));
        return;
      }
      case 'approvers-of': {
        const approvers = approversOf(audience.resourceId);
        for (const id of approvers?.users ?? []) yield* once(await getUser(id, stream));
        for (const groupId of approvers?.groups ?? []) yield* groupMembers(groupId, true, seen, stream);
        return;
      }
      case 'any-of':
        for (const member of audience.audiences) yield* resolveInto(member, seen, stream);
        return;
    }
  }

  return {
    name: options.name ?? `otds:${client.baseUrl}`,
    getUser: (id) => getUser(id),
    findBySubject: (subject) => findBySubject(subject),
    resolve(audience, stream) {
      const parsed = AudienceSpecSchema.safeParse(audience);
      if (!parsed.success) {
        throw new IdrelayError('ERR_AUDIENCE_INVALID', 'The audience is not a valid AudienceSpec', {
          details: {
            issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
          },
        });
      }
      return resolveInto(parsed.data, new Set(), stream);
    },
    async *groupsOf(userId, stream) {
      const visited = new Set<string>();
      const queue: string[] = [];
      try {
        for await (const group of client.userMemberOf(userId, pageOptions(stream))) {
          if (visited.has(group.id)) continue;
          visited.add(group.id);
          queue.push(group.id);
          yield toGroup(group);
        }
      } catch (error) {
        if (isIdrelayError(error, 'ERR_OTDS_NOT_FOUND')) return;
        throw error;
      }
      if (stream?.nested !== true) return;
      while (queue.length > 0) {
        const current = queue.shift() as string;
        try {
          for await (const parent of client.groupMemberOf(current, pageOptions(stream))) {
            if (visited.has(parent.id)) continue;
            visited.add(parent.id);
            queue.push(parent.id);
            yield toGroup(parent);
          }
        } catch (error) {
          if (!isIdrelayError(error, 'ERR_OTDS_NOT_FOUND')) throw error;
        }
      }
    },
  };
}

function matches(
  attributes: Readonly<Record<string, readonly string[]>>,
  filter: Readonly<Record<string, string | readonly string[]>>,
): boolean {
  return Object.entries(filter).every(([name, wanted]) => {
    const have = Object.hasOwn(attributes, name) ? (attributes[name] ?? []) : [];
    return (typeof wanted === 'string' ? [wanted] : wanted).some((value) => have.includes(value));
  });
}
