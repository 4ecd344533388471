import { createHash } from 'node:crypto';
import { type DirectoryStore, isIdrelayError, type StoredGroup } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createEvent } from '@idrelay/core/events';
import type { StoreDirectory } from '@idrelay/engine';
import type { FilterNode } from '../filter/parse-filter.js';
import { ScimProblem, scimJson } from '../http/scim-error.js';
import { anchorOf, compareKeys, type Json, type ListQuery } from '../query/list-query.js';
import { GROUP_SCHEMA } from '../schemas/attribute-schema.js';
import type { Scope } from '../users/scim-user.js';

/**
 * Groups (RFC 7643 §4.2) kept in the store directory: list with filters, create with members, read with
 * `members`, replace (PUT), rename and membership changes by PATCH (RFC 7644 §3.5.2) in the forms Entra and Okta
 * send (including Okta's `replace` of all `members`), delete. Every membership change is an event, a deleted
 * group's included.
 */

export { GROUP_SCHEMA };

const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAX_MEMBERS = 10_000;
const PAGE = 1000;

/** The directory calls groups need. */
export type GroupDirectory = Pick<
  StoreDirectory,
  'getGroup' | 'putGroup' | 'removeGroup' | 'addMembers' | 'removeMembers'
>;

/** What group requests need from the handler. */
export interface GroupContext {
  directory: GroupDirectory;
  /** The store's directory port, for keyset reads of groups and members. */
  port: Pick<DirectoryStore, 'listGroups' | 'memberIds'>;
  scope: Scope;
  /** `origin + basePath`. */
  base: string;
  source: string;
  now: () => Date;
}

interface LoadedGroup {
  id: string;
  name: string | undefined;
  updatedAt: number;
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ScimProblem(400, 'The body must be a JSON object', 'invalidSyntax');
  }
  return body as Record<string, unknown>;
}

function displayName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 1024) {
    throw new ScimProblem(400, 'displayName: expected a non-empty string of at most 1024 characters', 'invalidValue');
  }
  return value;
}

/** Member ids from `[{ value }]` (RFC 7643 §4.2 `members`). */
function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  if (list.length > MAX_MEMBERS) throw new ScimProblem(400, `At most ${MAX_MEMBERS} members at once`, 'tooMany');
  return list.map((entry, index) => {
    const id = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>).value : undefined;
    if (typeof id !== 'string' || id === '' || id.length > 400) {
      throw new ScimProblem(400, `members[${index}].value: expected a user id`, 'invalidValue');
    }
    return id;
  });
}

/** The group's version: changes with its name and with every membership change (which touches the group). */
function versionOf(group: LoadedGroup): string {
  const digest = createHash('sha256')
    .update(`${group.id}\u0000${group.name ?? ''}\u0000${group.updatedAt}`)
    .digest('base64url');
  return `W/"${digest.slice(0, 22)}"`;
}

/** The SCIM ids of a group's direct user members, in id order. */
async function membersOf(context: GroupContext, storeId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await context.port.memberIds(storeId, after === undefined ? { limit: PAGE } : { after, limit: PAGE });
    for (const id of page) if (id.startsWith(context.scope.prefix)) ids.push(id.slice(context.scope.prefix.length));
    if (page.length < PAGE) return ids;
    after = page[page.length - 1];
  }
}

function render(context: GroupContext, group: LoadedGroup, members: string[] | undefined): Json {
  const location = `${context.base}/Groups/${encodeURIComponent(group.id)}`;
  const resource: Json = { schemas: [GROUP_SCHEMA], id: group.id, displayName: group.name };
  if (members !== undefined && members.length > 0) {
    resource.members = members.map((value) => ({
      value,
      $ref: `${context.base}/Users/${encodeURIComponent(value)}`,
      type: 'User',
    }));
  }
  resource.meta = {
    resourceType: 'Group',
    lastModified: new Date(group.updatedAt).toISOString(),
    location,
    version: versionOf(group),
  };
  return resource;
}

function loaded(context: GroupContext, stored: StoredGroup): LoadedGroup {
  return { id: stored.id.slice(context.scope.prefix.length), name: stored.name, updatedAt: stored.updatedAt };
}

function membership(
  type: 'idrelay.group.member.added' | 'idrelay.group.member.removed',
  context: GroupContext,
  groupId: string,
  groupName: string | undefined,
  userId: string,
): IdentityEvent {
  const { prefix, tenant } = context.scope;
  const data: { groupId: string; userId: string; groupName?: string; tenant?: string } = {
    groupId: prefix + groupId,
    userId: prefix + userId,
  };
  if (groupName !== undefined) data.groupName = groupName;
  if (tenant !== undefined) data.tenant = tenant;
  return createEvent(type, data, { source: context.source, now: context.now });
}

function usesMembers(node: FilterNode | undefined): boolean {
  if (node === undefined) return false;
  switch (node.kind) {
    case 'and':
    case 'or':
      return usesMembers(node.left) || usesMembers(node.right);
    case 'not':
      return usesMembers(node.filter);
    default:
      return /(^|:)members(\.|$)/i.test(node.path);
  }
}

/** Whether a projection keeps `members`: the members of a group are read only when they are shown or filtered. */
function showsMembers(query: Pick<ListQuery, 'project'>): boolean {
  return query.project({ schemas: [], id: '', members: [] }).members !== undefined;
}

/** `GET /Groups`: every group of the tenant, filtered, sorted and paged (groups are read whole: a few thousand). */
export async function listGroups(context: GroupContext, query: ListQuery): Promise<Response> {
  const { prefix } = context.scope;
  const needMembers = usesMembers(query.filter?.node) || showsMembers(query);
  const candidates: LoadedGroup[] = [];
  const anchor = anchorOf(query.filter?.node, 'id');
  if (anchor !== undefined) {
    const found = await context.directory.getGroup(prefix + anchor);
    if (found !== undefined) candidates.push(loaded(context, found));
  } else {
    let after: string | undefined = prefix === '' ? undefined : prefix;
    scan: for (;;) {
      const page = await context.port.listGroups(after === undefined ? { limit: PAGE } : { after, limit: PAGE });
      for (const group of page) {
        if (!group.id.startsWith(prefix)) break scan;
        candidates.push(loaded(context, group));
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.id;
    }
  }
  let matches: Json[] = [];
  for (const group of candidates) {
    const resource = render(context, group, needMembers ? await membersOf(context, prefix + group.id) : undefined);
    if (query.filter === undefined || query.filter.matches(resource)) matches.push(resource);
  }
  const sort = query.sort;
  if (sort !== undefined) matches.sort((a, b) => compareKeys(sort.key(a), sort.key(b), sort.descending));
  const total = matches.length;
  matches = matches.slice(query.startIndex - 1, query.startIndex - 1 + query.count);
  return scimJson(200, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    startIndex: query.startIndex,
    itemsPerPage: matches.length,
    Resources: matches.map(query.project),
  });
}

async function addMembers(
  context: GroupContext,
  group: LoadedGroup,
  current: Set<string>,
  ids: Iterable<string>,
): Promise<IdentityEvent[]> {
  const fresh = [...new Set(ids)].filter((id) => !current.has(id));
  if (fresh.length === 0) return [];
  try {
    await context.directory.addMembers(context.scope.prefix + group.id, {
      users: fresh.map((id) => context.scope.prefix + id),
    });
  } catch (error) {
    if (isIdrelayError(error, 'ERR_DIRECTORY_NOT_FOUND')) {
      throw new ScimProblem(400, 'A member is not a known user', 'invalidValue');
    }
    if (isIdrelayError(error, 'ERR_DIRECTORY_INVALID'))
      throw new ScimProblem(400, 'A member id is invalid', 'invalidValue');
    throw error;
  }
  for (const id of fresh) current.add(id);
  return fresh.map((userId) => membership('idrelay.group.member.added', context, group.id, group.name, userId));
}

async function removeMembers(
  context: GroupContext,
  group: LoadedGroup,
  current: Set<string>,
  ids: Iterable<string>,
): Promise<IdentityEvent[]> {
  const present = [...new Set(ids)].filter((id) => current.has(id));
  if (present.length === 0) return [];
  await context.directory.removeMembers(context.scope.prefix + group.id, {
    users: present.map((id) => context.scope.prefix + id),
  });
  for (const id of present) current.delete(id);
  return present.map((userId) => membership('idrelay.group.member.removed', context, group.id, group.name, userId));
}

/** `POST /Groups`: creates the group and adds its members (a member that is not a user undoes the create). */
export async function createGroup(
  context: GroupContext,
  id: string,
  body: unknown,
): Promise<{ response: Response; events: IdentityEvent[] }> {
  const raw = object(body);
  if (!Array.isArray(raw.schemas) || !raw.schemas.includes(GROUP_SCHEMA)) {
    throw new ScimProblem(400, `schemas must include "${GROUP_SCHEMA}"`, 'invalidSyntax');
  }
  const name = displayName(raw.displayName);
  const members = memberIds(raw.members);
  const storeId = context.scope.prefix + id;
  await context.directory.putGroup({ id: storeId, name });
  let events: IdentityEvent[];
  try {
    const group = { id, name, updatedAt: 0 };
    events = await addMembers(context, group, new Set(), members);
  } catch (error) {
    await context.directory.removeGroup(storeId);
    throw error;
  }
  const { group: stored } = await context.directory.putGroup({ id: storeId, name });
  const group = loaded(context, stored);
  const location = `${context.base}/Groups/${encodeURIComponent(id)}`;
  const resource = render(context, group, [...new Set(members)].sort());
  return {
    response: scimJson(201, resource, { location, etag: versionOf(group) }),
    events,
  };
}

interface GroupChange {
  add?: string[];
  remove?: string[] | 'all';
  replace?: string[];
  name?: string;
}

function patchStep(kind: string, target: string | undefined, value: unknown): GroupChange {
  const lower = target?.toLowerCase();
  const filtered = target === undefined ? null : /^members\[\s*value\s+eq\s+"([^"]+)"\s*\]$/i.exec(target);
  if (kind !== 'add' && kind !== 'remove' && kind !== 'replace') {
    throw new ScimProblem(400, 'op must be add, replace or remove', 'invalidSyntax');
  }
  if (kind === 'remove' && filtered?.[1] !== undefined) return { remove: [filtered[1]] };
  // Entra without aadOptscim062020: remove with path "members" and the members in value; without value: all.
  if (kind === 'remove' && lower === 'members') return { remove: value === undefined ? 'all' : memberIds(value) };
  if (kind === 'add' && lower === 'members') return { add: memberIds(value) };
  // Okta's alternative group push: replace every member.
  if (kind === 'replace' && lower === 'members') return { replace: memberIds(value) };
  if ((kind === 'replace' || kind === 'add') && lower === 'displayname') return { name: displayName(value) };
  if ((kind === 'replace' || kind === 'add') && target === undefined && typeof value === 'object' && value !== null) {
    const result: GroupChange = {};
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      const name = key.toLowerCase();
      if (name === 'displayname') result.name = displayName(member);
      else if (name === 'members' && kind === 'add') result.add = memberIds(member);
      else if (name === 'members') result.replace = memberIds(member);
      else if (name === 'id' || name === 'meta') throw new ScimProblem(400, `${key} is read-only`, 'mutability');
      else if (name === 'externalid' || name === 'schemas') continue;
      else throw new ScimProblem(400, `Unsupported group attribute "${key}" for ${kind}`, 'invalidPath');
    }
    return result;
  }
  if (lower === 'id' || lower === 'meta') throw new ScimProblem(400, `${target} is read-only`, 'mutability');
  if (kind === 'remove' && target === undefined) throw new ScimProblem(400, 'remove needs a path', 'noTarget');
  throw new ScimProblem(400, `Unsupported group operation ${kind} on "${String(target)}"`, 'invalidPath');
}

function checkIfMatch(header: string | null, group: LoadedGroup): void {
  if (header === null || header.trim() === '*') return;
  const current = versionOf(group);
  const tags = header.split(',').map((tag) => tag.trim());
  if (!tags.some((tag) => tag === current || `W/${tag}` === current)) {
    throw new ScimProblem(412, 'The group changed since the version given in If-Match');
  }
}

/** `GET`, `PUT`, `PATCH` and `DELETE` on `/Groups/{id}`. */
export async function groupRequest(
  context: GroupContext,
  request: { method: string; ifMatch: string | null; readBody: () => Promise<unknown>; project: (json: Json) => Json },
  id: string,
): Promise<{ response: Response; events: IdentityEvent[] }> {
  const storeId = context.scope.prefix + id;
  const stored = await context.directory.getGroup(storeId);
  if (stored === undefined) throw new ScimProblem(404, `Group ${id} not found`);
  const group = loaded(context, stored);
  const { method } = request;
  if (method === 'GET') {
    const members = showsMembers(request) ? await membersOf(context, storeId) : undefined;
    const response = scimJson(200, request.project(render(context, group, members)), { etag: versionOf(group) });
    return { response, events: [] };
  }
  if (method === 'DELETE') {
    checkIfMatch(request.ifMatch, group);
    const members = await membersOf(context, storeId);
    await context.directory.removeGroup(storeId);
    const events = members.map((userId) =>
      membership('idrelay.group.member.removed', context, group.id, group.name, userId),
    );
    return { response: new Response(null, { status: 204 }), events };
  }
  if (method !== 'PATCH' && method !== 'PUT') throw new ScimProblem(405, `${method} is not allowed on a Group`);
  const raw = object(await request.readBody());
  checkIfMatch(request.ifMatch, group);
  let steps: GroupChange[];
  if (method === 'PUT') {
    if (!Array.isArray(raw.schemas) || !raw.schemas.includes(GROUP_SCHEMA)) {
      throw new ScimProblem(400, `schemas must include "${GROUP_SCHEMA}"`, 'invalidSyntax');
    }
    steps = [{ name: displayName(raw.displayName), replace: memberIds(raw.members) }];
  } else {
    if (!Array.isArray(raw.schemas) || !raw.schemas.includes(PATCH_SCHEMA)) {
      throw new ScimProblem(400, `schemas must be ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
    }
    const operations = raw.Operations ?? raw.operations;
    if (!Array.isArray(operations) || operations.length === 0 || operations.length > 1000) {
      throw new ScimProblem(400, 'Operations must be an array of 1 to 1000 operations', 'invalidSyntax');
    }
    // Every operation is checked before any is applied, so a bad one changes nothing.
    steps = (operations as unknown[]).map((operation) => {
      const { op, path, value } = object(operation);
      if (path !== undefined && (typeof path !== 'string' || path.length > 512)) {
        throw new ScimProblem(400, 'path must be a string', 'invalidPath');
      }
      return patchStep(typeof op === 'string' ? op.toLowerCase() : '', path?.trim(), value);
    });
  }
  const current = new Set(await membersOf(context, storeId));
  const events: IdentityEvent[] = [];
  const next: LoadedGroup = { ...group };
  for (const step of steps) {
    if (step.name !== undefined) next.name = step.name;
    if (step.replace !== undefined) {
      const wanted = new Set(step.replace);
      events.push(
        ...(await removeMembers(
          context,
          next,
          current,
          [...current].filter((m) => !wanted.has(m)),
        )),
      );
      events.push(...(await addMembers(context, next, current, wanted)));
    }
    if (step.add !== undefined) events.push(...(await addMembers(context, next, current, step.add)));
    if (step.remove === 'all') events.push(...(await removeMembers(context, next, current, [...current])));
    else if (step.remove !== undefined) events.push(...(await removeMembers(context, next, current, step.remove)));
  }
  let result = group;
  if (next.name !== group.name || events.length > 0) {
    // Touching the group moves its version and lastModified on a membership change too.
    const { group: written } = await context.directory.putGroup(
      next.name === undefined ? { id: storeId } : { id: storeId, name: next.name },
    );
    result = loaded(context, written);
  }
  const members = showsMembers(request) ? [...current].sort() : undefined;
  const response = scimJson(200, request.project(render(context, result, members)), { etag: versionOf(result) });
  return { response, events };
}
