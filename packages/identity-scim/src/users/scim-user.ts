import type { StoredUser, SubjectIdentifier } from '@idrelay/core';
import type { DirectoryUserInput } from '@idrelay/engine';
import { ScimProblem } from '../http/scim-error.js';
import { ENTERPRISE_SCHEMA, USER_SCHEMA } from '../schemas/attribute-schema.js';

/**
 * The User resource (RFC 7643 §4.1) with the Enterprise User extension (§4.3), as kept in the store directory.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7643#section-4.1
 */

export { ENTERPRISE_SCHEMA, USER_SCHEMA };

/** One e-mail address of a user (RFC 7643 §4.1.2). */
export interface ScimEmail {
  value: string;
  type?: string;
  primary?: boolean;
}

/** The SCIM attributes this endpoint keeps; anything else in a request is refused as unknown. */
export interface ScimUser {
  userName: string;
  externalId?: string;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  title?: string;
  locale?: string;
  timezone?: string;
  active: boolean;
  emails: ScimEmail[];
  department?: string;
  division?: string;
  costCenter?: string;
  organization?: string;
  employeeNumber?: string;
  managerId?: string;
}

/** Single-valued string attributes kept as directory attributes under the same name. */
export const STRING_ATTRIBUTES = [
  'userName',
  'externalId',
  'displayName',
  'givenName',
  'familyName',
  'title',
  'department',
  'division',
  'costCenter',
  'organization',
  'employeeNumber',
] as const;

const EMAILS_ATTRIBUTE = 'scim.emails';

/**
 * The subject identifier SCIM looks a user up by: userName is unique and compared without case (RFC 7643 §4.1.1),
 * so it is kept as a lower-cased opaque identifier the store indexes and keeps unique.
 */
export function userNameSubject(userName: string, scope: Scope = UNSCOPED): SubjectIdentifier {
  const tenant = scope.tenant === undefined ? '' : `${scope.tenant}:`;
  return { format: 'opaque', id: `scim:${tenant}userName:${userName.toLowerCase()}` };
}

/**
 * The subject identifier of an `externalId`: kept exactly (caseExact, RFC 7643 §3.1) and unique per tenant, so an
 * `externalId eq` lookup (Entra's matching attribute) is one indexed read.
 */
export function externalIdSubject(externalId: string, scope: Scope = UNSCOPED): SubjectIdentifier {
  const tenant = scope.tenant === undefined ? '' : `${scope.tenant}:`;
  return { format: 'opaque', id: `scim:${tenant}externalId:${externalId}` };
}

/**
 * Where a tenant's resources live in the store directory: its id (undefined for the single-tenant set-up) and the
 * prefix of every directory id it writes (`acme:` for tenant `acme`, empty without tenants).
 */
export interface Scope {
  tenant: string | undefined;
  prefix: string;
}

/** The scope of a handler configured without tenants. */
export const UNSCOPED: Scope = { tenant: undefined, prefix: '' };

/** The directory record for a SCIM user; `id` is the directory id (the SCIM id with the tenant prefix). */
export function toDirectoryUser(id: string, user: ScimUser, scope: Scope = UNSCOPED): DirectoryUserInput {
  const attributes: Record<string, string | string[]> = {};
  for (const name of STRING_ATTRIBUTES) {
    const value = user[name];
    if (value !== undefined) attributes[name] = value;
  }
  if (user.emails.length > 0) attributes[EMAILS_ATTRIBUTE] = user.emails.map((email) => JSON.stringify(email));
  const subjects: SubjectIdentifier[] = [userNameSubject(user.userName, scope)];
  if (user.externalId !== undefined) subjects.push(externalIdSubject(user.externalId, scope));
  const primary = user.emails.find((email) => email.primary) ?? user.emails[0];
  if (primary !== undefined) subjects.push({ format: 'email', email: primary.value });
  const record: DirectoryUserInput = { id, subjects, attributes, active: user.active };
  const displayName = user.displayName ?? ([user.givenName, user.familyName].filter(Boolean).join(' ') || undefined);
  if (displayName !== undefined) record.displayName = displayName;
  if (user.locale !== undefined) record.locale = user.locale;
  if (user.timezone !== undefined) record.timeZone = user.timezone;
  if (user.managerId !== undefined) record.managerId = scope.prefix + user.managerId;
  return record;
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The SCIM user kept in a directory record, or `undefined` when the record was not written by SCIM. */
export function fromDirectoryUser(stored: StoredUser, scope: Scope = UNSCOPED): ScimUser | undefined {
  const userName = single(stored.attributes.userName);
  if (userName === undefined) return undefined;
  const user: ScimUser = { userName, active: stored.active !== false, emails: [] };
  for (const name of STRING_ATTRIBUTES) {
    const value = single(stored.attributes[name]);
    if (value !== undefined) user[name] = value;
  }
  const emails = stored.attributes[EMAILS_ATTRIBUTE];
  const list = typeof emails === 'string' ? [emails] : (emails ?? []);
  user.emails = list.map((entry) => JSON.parse(entry) as ScimEmail);
  if (stored.locale !== undefined) user.locale = stored.locale;
  if (stored.timeZone !== undefined) user.timezone = stored.timeZone;
  if (stored.managerId?.startsWith(scope.prefix)) user.managerId = stored.managerId.slice(scope.prefix.length);
  return user;
}

/** The JSON representation of a user (RFC 7643 §4.1, §4.3) with its `meta` (§3.1). */
export function renderUser(
  id: string,
  user: ScimUser,
  meta: { location: string; lastModified: number; version: string },
): Record<string, unknown> {
  const resource: Record<string, unknown> = { schemas: [USER_SCHEMA], id, userName: user.userName };
  if (user.externalId !== undefined) resource.externalId = user.externalId;
  if (user.givenName !== undefined || user.familyName !== undefined) {
    resource.name = { givenName: user.givenName, familyName: user.familyName };
  }
  if (user.displayName !== undefined) resource.displayName = user.displayName;
  if (user.title !== undefined) resource.title = user.title;
  if (user.locale !== undefined) resource.locale = user.locale;
  if (user.timezone !== undefined) resource.timezone = user.timezone;
  resource.active = user.active;
  if (user.emails.length > 0) resource.emails = user.emails;
  const enterprise: Record<string, unknown> = {};
  for (const name of ['employeeNumber', 'department', 'division', 'costCenter', 'organization'] as const) {
    if (user[name] !== undefined) enterprise[name] = user[name];
  }
  if (user.managerId !== undefined) enterprise.manager = { value: user.managerId };
  if (Object.keys(enterprise).length > 0) {
    resource.schemas = [USER_SCHEMA, ENTERPRISE_SCHEMA];
    resource[ENTERPRISE_SCHEMA] = enterprise;
  }
  resource.meta = {
    resourceType: 'User',
    lastModified: new Date(meta.lastModified).toISOString(),
    location: meta.location,
    version: meta.version,
  };
  return resource;
}

/** Refuses a value that is not what RFC 7643 says the attribute holds. */
export function invalid(path: string, expected: string): never {
  throw new ScimProblem(400, `${path}: expected ${expected}`, 'invalidValue');
}
