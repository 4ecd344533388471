import { isIdrelayError } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createEvent } from '@idrelay/core/events';
import type { StoreDirectory } from '@idrelay/engine';
import { ScimProblem, scimJson } from '../http/scim-error.js';

/**
 * Groups (RFC 7643 §4.2) kept in the store directory: create with members, read, rename, membership changes by
 * PATCH (RFC 7644 §3.5.2) in the forms Entra and Okta send, delete. Every membership change is an event.
 */

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAX_MEMBERS = 10_000;

/** The directory calls groups need. */
export type GroupDirectory = Pick<
  StoreDirectory,
  'getGroup' | 'putGroup' | 'removeGroup' | 'addMembers' | 'removeMembers' | 'groupsOf'
>;

/** What group requests need from the handler. */
export interface GroupContext {
  directory: GroupDirectory;
  source: string;
  now: () => Date;
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
    if (typeof id !== 'string' || id === '') {
      throw new ScimProblem(400, `members[${index}].value: expected a user id`, 'invalidValue');
    }
    return id;
  });
}

async function isMember(directory: GroupDirectory, groupId: string, userId: string): Promise<boolean> {
  for await (const group of directory.groupsOf(userId)) if (group.id === groupId) return true;
  return false;
}

function membership(
  type: 'idrelay.group.member.added' | 'idrelay.group.member.removed',
  context: GroupContext,
  groupId: string,
  groupName: string | undefined,
  userId: string,
): IdentityEvent {
  const data: { groupId: string; userId: string; groupName?: string } = { groupId, userId };
  if (groupName !== undefined) data.groupName = groupName;
  return createEvent(type, data, { source: context.source, now: context.now });
}

async function add(
  context: GroupContext,
  groupId: string,
  name: string | undefined,
  ids: string[],
): Promise<IdentityEvent[]> {
  const fresh: string[] = [];
  for (const id of new Set(ids)) if (!(await isMember(context.directory, groupId, id))) fresh.push(id);
  if (fresh.length === 0) return [];
  try {
    await context.directory.addMembers(groupId, { users: fresh });
  } catch (error) {
    if (isIdrelayError(error, 'ERR_DIRECTORY_NOT_FOUND')) {
      throw new ScimProblem(400, 'A member is not a known user', 'invalidValue');
    }
    throw error;
  }
  return fresh.map((userId) => membership('idrelay.group.member.added', context, groupId, name, userId));
}

async function remove(
  context: GroupContext,
  groupId: string,
  name: string | undefined,
  ids: string[],
): Promise<IdentityEvent[]> {
  const present: string[] = [];
  for (const id of new Set(ids)) if (await isMember(context.directory, groupId, id)) present.push(id);
  if (present.length === 0) return [];
  await context.directory.removeMembers(groupId, { users: present });
  return present.map((userId) => membership('idrelay.group.member.removed', context, groupId, name, userId));
}

function render(id: string, name: string | undefined, location: string): Record<string, unknown> {
  return { schemas: [GROUP_SCHEMA], id, displayName: name, meta: { resourceType: 'Group', location } };
}

/** `POST /Groups`: creates the group and adds its members (a member that is not a user undoes the create). */
export async function createGroup(
  context: GroupContext,
  id: string,
  body: unknown,
  location: string,
): Promise<{ response: Response; events: IdentityEvent[] }> {
  const raw = object(body);
  if (!Array.isArray(raw.schemas) || !raw.schemas.includes(GROUP_SCHEMA)) {
    throw new ScimProblem(400, `schemas must include "${GROUP_SCHEMA}"`, 'invalidSyntax');
  }
  const name = displayName(raw.displayName);
  const members = memberIds(raw.members);
  await context.directory.putGroup({ id, name });
  let events: IdentityEvent[];
  try {
    events = await add(context, id, name, members);
  } catch (error) {
    await context.directory.removeGroup(id);
    throw error;
  }
  return { response: scimJson(201, render(id, name, location), { location }), events };
}

function patchMembersOrName(
  kind: string,
  target: string | undefined,
  value: unknown,
): { add?: string[]; remove?: string[]; name?: string } {
  const lower = target?.toLowerCase();
  const filtered = target === undefined ? null : /^members\[\s*value\s+eq\s+"([^"]+)"\s*\]$/i.exec(target);
  if (kind === 'remove' && filtered?.[1] !== undefined) return { remove: [filtered[1]] };
  // Entra without aadOptscim062020: remove with path "members" and the members in value.
  if (kind === 'remove' && lower === 'members' && value !== undefined) return { remove: memberIds(value) };
  if (kind === 'add' && lower === 'members') return { add: memberIds(value) };
  if ((kind === 'replace' || kind === 'add') && lower === 'displayname') return { name: displayName(value) };
  if ((kind === 'replace' || kind === 'add') && target === undefined && typeof value === 'object' && value !== null) {
    const result: { add?: string[]; name?: string } = {};
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      if (key.toLowerCase() === 'displayname') result.name = displayName(member);
      else if (key.toLowerCase() === 'members' && kind === 'add') result.add = memberIds(member);
      else throw new ScimProblem(400, `Unsupported group attribute "${key}" for ${kind}`, 'invalidPath');
    }
    return result;
  }
  if (kind !== 'add' && kind !== 'remove' && kind !== 'replace') {
    throw new ScimProblem(400, 'op must be add, replace or remove', 'invalidSyntax');
  }
  throw new ScimProblem(400, `Unsupported group operation ${kind} on "${String(target)}"`, 'invalidPath');
}

/** `GET`, `PATCH` and `DELETE` on `/Groups/{id}`. */
export async function groupRequest(
  context: GroupContext,
  method: string,
  id: string,
  readBody: () => Promise<unknown>,
  location: string,
): Promise<{ response: Response; events: IdentityEvent[] }> {
  const group = await context.directory.getGroup(id);
  if (group === undefined) throw new ScimProblem(404, `Group ${id} not found`);
  if (method === 'GET') return { response: scimJson(200, render(id, group.name, location)), events: [] };
  if (method === 'DELETE') {
    await context.directory.removeGroup(id);
    return { response: new Response(null, { status: 204 }), events: [] };
  }
  if (method !== 'PATCH') throw new ScimProblem(405, `${method} is not allowed on a Group`);
  const raw = object(await readBody());
  if (!Array.isArray(raw.schemas) || !raw.schemas.includes(PATCH_SCHEMA)) {
    throw new ScimProblem(400, `schemas must be ["${PATCH_SCHEMA}"]`, 'invalidSyntax');
  }
  const operations = raw.Operations ?? raw.operations;
  if (!Array.isArray(operations) || operations.length === 0 || operations.length > 1000) {
    throw new ScimProblem(400, 'Operations must be an array of 1 to 1000 operations', 'invalidSyntax');
  }
  // Every operation is checked before any is applied, so a bad one changes nothing.
  const steps = (operations as unknown[]).map((operation) => {
    const { op, path, value } = object(operation);
    if (path !== undefined && typeof path !== 'string')
      throw new ScimProblem(400, 'path must be a string', 'invalidPath');
    return patchMembersOrName(typeof op === 'string' ? op.toLowerCase() : '', path?.trim(), value);
  });
  let name = group.name;
  const events: IdentityEvent[] = [];
  for (const step of steps) {
    if (step.name !== undefined) name = step.name;
    if (step.add !== undefined) events.push(...(await add(context, id, name, step.add)));
    if (step.remove !== undefined) events.push(...(await remove(context, id, name, step.remove)));
  }
  if (name !== undefined && name !== group.name) await context.directory.putGroup({ id, name });
  return { response: scimJson(200, render(id, name, location)), events };
}
