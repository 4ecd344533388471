import {
  type DirectoryUser,
  type GroupMembers,
  IdrelayError,
  isIdrelayError,
  isTimeZone,
  type ResourceApprovers,
  type SubjectIdentifier,
} from '@idrelay/core';
import { normaliseSubject } from '@idrelay/core/events';

/** Limits of what `createStoreDirectory()` writes; the store trusts them. */
export const DIRECTORY_LIMITS = {
  /** Characters of a user, group or resource id. */
  idLength: 512,
  /** Characters of an attribute name. */
  attributeNameLength: 128,
  /** Characters of one attribute value, a display name or a group name. */
  valueLength: 1_024,
  valuesPerAttribute: 100,
  attributesPerUser: 200,
  subjectsPerUser: 100,
  /** Ids in one `addMembers`, `removeMembers` or `setApprovers` list. */
  idsPerCall: 10_000,
} as const;

/** One problem with a directory write: where and what. */
export interface DirectoryIssue {
  path: string;
  message: string;
}

/** What a user write may hold: a {@link DirectoryUser} plus `active` (default true). */
export interface DirectoryUserInput extends Omit<DirectoryUser, 'attributes'> {
  attributes?: DirectoryUser['attributes'];
  /** `false` for a deactivated account: found by id and subject, never in an audience. */
  active?: boolean;
}

/** What a group write may hold. */
export interface DirectoryGroupInput {
  id: string;
  name?: string;
  privileged?: boolean;
}

// C0 and C1 control characters: ids travel into logs, URLs and SQL text, where they only cause harm.
const CONTROL = /\p{Cc}/u;
// A lone surrogate has no UTF-8 form: a database would store U+FFFD, and two ids could become one.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const USER_KEYS = new Set([
  'id',
  'displayName',
  'subjects',
  'locale',
  'timeZone',
  'managerId',
  'attributes',
  'active',
  'updatedAt',
]);
const GROUP_KEYS = new Set(['id', 'name', 'privileged', 'updatedAt']);

/** Collects issues, then throws them together as one `ERR_DIRECTORY_INVALID`. */
class Issues {
  readonly list: DirectoryIssue[] = [];
  add(path: string, message: string): void {
    if (this.list.length < 100) this.list.push({ path, message });
  }
  text(path: string, value: unknown, max: number, what = 'a string'): value is string {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) {
      this.add(path, `expected ${what} of 1-${max} characters`);
      return false;
    }
    if (CONTROL.test(value) || LONE_SURROGATE.test(value)) {
      this.add(path, 'control characters and lone surrogates are not allowed');
      return false;
    }
    return true;
  }
  id(path: string, value: unknown): value is string {
    return this.text(path, value, DIRECTORY_LIMITS.idLength, 'an id');
  }
  ids(path: string, value: unknown): void {
    if (value === undefined) return;
    if (!Array.isArray(value) || value.length > DIRECTORY_LIMITS.idsPerCall) {
      this.add(path, `expected an array of at most ${DIRECTORY_LIMITS.idsPerCall} ids`);
      return;
    }
    for (const [i, id] of value.entries()) this.id(`${path}.${i}`, id);
  }
  keys(value: Record<string, unknown>, allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(value)) if (!allowed.has(key)) this.add(key, 'unknown field');
  }
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const first = this.list[0]!;
    throw new IdrelayError('ERR_DIRECTORY_INVALID', `Invalid ${what}: ${first.path || '(root)'}: ${first.message}`, {
      details: { issues: this.list },
    });
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function checkAttributes(issues: Issues, value: unknown): DirectoryUser['attributes'] {
  if (value === undefined) return {};
  if (!isRecord(value)) {
    issues.add('attributes', 'expected an object of attribute name to string or array of strings');
    return {};
  }
  const entries = Object.entries(value);
  if (entries.length > DIRECTORY_LIMITS.attributesPerUser) {
    issues.add('attributes', `at most ${DIRECTORY_LIMITS.attributesPerUser} attributes`);
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, v] of entries) {
    const path = `attributes.${name}`;
    issues.text(path, name, DIRECTORY_LIMITS.attributeNameLength, 'an attribute name');
    const values = typeof v === 'string' ? [v] : Array.isArray(v) ? (v as unknown[]) : undefined;
    if (values === undefined) {
      issues.add(path, 'expected a string or an array of strings');
      continue;
    }
    if (values.length > DIRECTORY_LIMITS.valuesPerAttribute) {
      issues.add(path, `at most ${DIRECTORY_LIMITS.valuesPerAttribute} values`);
    }
    values.forEach((item, i) => {
      const at = Array.isArray(v) ? `${path}.${i}` : path;
      if (typeof item !== 'string' || item.length > DIRECTORY_LIMITS.valueLength) {
        issues.add(at, `expected a string of at most ${DIRECTORY_LIMITS.valueLength} characters`);
      } else if (item.includes('\u0000') || LONE_SURROGATE.test(item)) {
        issues.add(at, 'NUL characters and lone surrogates are not allowed');
      }
    });
    out[name] = typeof v === 'string' ? v : [...(v as string[])];
  }
  return out;
}

function checkSubjects(issues: Issues, value: unknown): SubjectIdentifier[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > DIRECTORY_LIMITS.subjectsPerUser) {
    issues.add(
      'subjects',
      `expected an array of at most ${DIRECTORY_LIMITS.subjectsPerUser} RFC 9493 subject identifiers`,
    );
    return undefined;
  }
  const out: SubjectIdentifier[] = [];
  value.forEach((subject, i) => {
    try {
      out.push(normaliseSubject(subject));
    } catch (error) {
      if (!isIdrelayError(error, 'ERR_SUBJECT_INVALID')) throw error;
      for (const issue of error.details?.issues ?? []) {
        issues.add([`subjects.${i}`, issue.path].filter(Boolean).join('.'), issue.message);
      }
    }
  });
  return out;
}

function checkLocale(issues: Issues, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    const tags = typeof value === 'string' && value.length <= 64 ? Intl.getCanonicalLocales(value) : [];
    if (tags.length === 1) return tags[0];
  } catch {
    // RangeError: not a well-formed BCP 47 tag; reported below.
  }
  issues.add('locale', 'expected a BCP 47 language tag such as de-CH');
  return undefined;
}

/**
 * Checks a user write and returns it ready to store (subjects normalised, locale canonical, a copy of the input).
 *
 * @throws {IdrelayError} `ERR_DIRECTORY_INVALID` with `details.issues`, one per problem.
 */
export function validateUser(
  input: unknown,
): Omit<DirectoryUserInput, 'attributes'> & Pick<DirectoryUser, 'attributes'> {
  const issues = new Issues();
  if (!isRecord(input)) {
    issues.add('', 'expected a user object');
    issues.throwIfAny('user');
  }
  const u = input as Record<string, unknown>;
  issues.keys(u, USER_KEYS);
  issues.id('id', u.id);
  const user: DirectoryUserInput & Pick<DirectoryUser, 'attributes'> = {
    id: u.id as string,
    attributes: checkAttributes(issues, u.attributes),
  };
  if (u.displayName !== undefined && issues.text('displayName', u.displayName, DIRECTORY_LIMITS.valueLength)) {
    user.displayName = u.displayName;
  }
  const subjects = checkSubjects(issues, u.subjects);
  if (subjects !== undefined) user.subjects = subjects;
  const locale = checkLocale(issues, u.locale);
  if (locale !== undefined) user.locale = locale;
  if (u.timeZone !== undefined) {
    if (isTimeZone(u.timeZone)) user.timeZone = u.timeZone;
    else issues.add('timeZone', 'expected an IANA time zone such as Europe/Zurich');
  }
  if (u.managerId !== undefined && issues.id('managerId', u.managerId)) {
    if (u.managerId === u.id) issues.add('managerId', 'a user cannot be their own manager');
    user.managerId = u.managerId;
  }
  if (u.active !== undefined) {
    if (typeof u.active === 'boolean') user.active = u.active;
    else issues.add('active', 'expected a boolean');
  }
  issues.throwIfAny('user');
  return user;
}

/**
 * Checks a group write and returns a copy ready to store.
 *
 * @throws {IdrelayError} `ERR_DIRECTORY_INVALID` with `details.issues`.
 */
export function validateGroup(input: unknown): DirectoryGroupInput {
  const issues = new Issues();
  if (!isRecord(input)) {
    issues.add('', 'expected a group object');
    issues.throwIfAny('group');
  }
  const g = input as Record<string, unknown>;
  issues.keys(g, GROUP_KEYS);
  issues.id('id', g.id);
  const group: DirectoryGroupInput = { id: g.id as string };
  if (g.name !== undefined && issues.text('name', g.name, DIRECTORY_LIMITS.valueLength)) group.name = g.name;
  if (g.privileged !== undefined) {
    if (typeof g.privileged === 'boolean') group.privileged = g.privileged;
    else issues.add('privileged', 'expected a boolean');
  }
  issues.throwIfAny('group');
  return group;
}

/** Checks the id a write names (a user, group or resource to remove or change). */
export function validateId(id: unknown, what: string): string {
  const issues = new Issues();
  issues.id('id', id);
  issues.throwIfAny(what);
  return id as string;
}

/** Checks a group id and its members, returning lists without duplicates. */
export function validateMembers(groupId: unknown, members: unknown): { groupId: string; members: GroupMembers } {
  const issues = new Issues();
  issues.id('groupId', groupId);
  const m = isRecord(members) ? members : {};
  if (!isRecord(members)) issues.add('members', 'expected { users?: string[], groups?: string[] }');
  issues.ids('members.users', m.users);
  issues.ids('members.groups', m.groups);
  issues.throwIfAny('members');
  const out: GroupMembers = {};
  if (m.users !== undefined) out.users = [...new Set(m.users as string[])];
  if (m.groups !== undefined) out.groups = [...new Set(m.groups as string[])];
  return { groupId: groupId as string, members: out };
}

/** Checks a resource id and its approvers, returning lists without duplicates. */
export function validateApprovers(
  resourceId: unknown,
  approvers: unknown,
): { resourceId: string; approvers: ResourceApprovers } {
  const issues = new Issues();
  issues.id('resourceId', resourceId);
  const a = isRecord(approvers) ? approvers : {};
  if (!isRecord(approvers)) issues.add('approvers', 'expected { users?: string[], groups?: string[] }');
  issues.ids('approvers.users', a.users);
  issues.ids('approvers.groups', a.groups);
  issues.throwIfAny('approvers');
  return {
    resourceId: resourceId as string,
    approvers: { users: [...new Set((a.users as string[]) ?? [])], groups: [...new Set((a.groups as string[]) ?? [])] },
  };
}

/** True when `id` could name something in the directory (reads skip anything else without asking the store). */
export const isDirectoryId = (id: unknown): id is string =>
  typeof id === 'string' &&
  id.length > 0 &&
  id.length <= DIRECTORY_LIMITS.idLength &&
  !CONTROL.test(id) &&
  !LONE_SURROGATE.test(id);
