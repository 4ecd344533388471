import { ScimProblem } from '../http/scim-error.js';
import { ENTERPRISE_SCHEMA, invalid, type ScimEmail, type ScimUser, USER_SCHEMA } from './scim-user.js';

/**
 * Writing one attribute of a User by its SCIM path (RFC 7644 §3.10 attribute notation, names compared without case
 * per RFC 7643 §2.1), shared by POST/PUT bodies and PATCH operations.
 */

/** Core User attributes (RFC 7643 §4.1) accepted and not kept: Entra's default mapping sends several of them. */
const DISCARDED = new Set([
  'password',
  'nickname',
  'profileurl',
  'usertype',
  'preferredlanguage',
  'addresses',
  'phonenumbers',
  'ims',
  'photos',
  'entitlements',
  'roles',
  'x509certificates',
  'name.formatted',
  'name.middlename',
  'name.honorificprefix',
  'name.honorificsuffix',
]);

const READ_ONLY = new Set(['id', 'meta', 'groups']);

const MAX_TEXT = 1024;

function text(path: string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > MAX_TEXT) invalid(path, `a string of at most ${MAX_TEXT} characters`);
  return value;
}

/** A boolean, or Entra's string form `"True"`/`"False"` (any case). */
export function booleanValue(path: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'true') return true;
    if (lower === 'false') return false;
  }
  return invalid(path, 'a boolean');
}

function emails(path: string, value: unknown): ScimEmail[] {
  if (value === null) return [];
  if (!Array.isArray(value) || value.length > 20) invalid(path, 'an array of at most 20 e-mail objects');
  return value.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null) invalid(`${path}[${index}]`, 'an object with a value');
    const raw = entry as Record<string, unknown>;
    const address = text(`${path}[${index}].value`, raw.value);
    if (address === undefined || !/^[^\s@]+@[^\s@]+$/.test(address))
      invalid(`${path}[${index}].value`, 'an e-mail address');
    const email: ScimEmail = { value: address };
    const type = text(`${path}[${index}].type`, raw.type);
    if (type !== undefined) email.type = type;
    if (raw.primary !== undefined) email.primary = booleanValue(`${path}[${index}].primary`, raw.primary);
    return email;
  });
}

const SIMPLE: Record<string, keyof ScimUser> = {
  username: 'userName',
  externalid: 'externalId',
  displayname: 'displayName',
  title: 'title',
  locale: 'locale',
  timezone: 'timezone',
  'name.givenname': 'givenName',
  'name.familyname': 'familyName',
  'enterprise.employeenumber': 'employeeNumber',
  'enterprise.department': 'department',
  'enterprise.division': 'division',
  'enterprise.costcenter': 'costCenter',
  'enterprise.organization': 'organization',
};

const ENTERPRISE_PREFIX = `${ENTERPRISE_SCHEMA.toLowerCase()}:`;
const USER_PREFIX = `${USER_SCHEMA.toLowerCase()}:`;
const WORK_EMAIL = /^emails\[type eq "([^"]+)"\]\.value$/;

/** Normalises a path: lower case, the core schema URN dropped, the enterprise URN shortened to `enterprise.`. */
function normalisePath(path: string): string {
  let lower = path.toLowerCase();
  if (lower.startsWith(USER_PREFIX)) lower = lower.slice(USER_PREFIX.length);
  if (lower.startsWith(ENTERPRISE_PREFIX)) lower = `enterprise.${lower.slice(ENTERPRISE_PREFIX.length)}`;
  if (lower === ENTERPRISE_SCHEMA.toLowerCase()) lower = 'enterprise';
  return lower;
}

/**
 * Sets (or with `null`/`undefined` removes) the attribute at `path`. Complex attributes (`name`, the enterprise
 * extension) given as objects are walked member by member.
 *
 * @throws {ScimProblem} 400 `mutability` for `id`/`meta`, `invalidPath` for an unknown attribute, `invalidValue`.
 */
export function setUserAttribute(user: ScimUser, path: string, value: unknown): void {
  const key = normalisePath(path);
  if (READ_ONLY.has(key)) throw new ScimProblem(400, `${path} is read-only`, 'mutability');
  // `phoneNumbers[type eq "work"].value`, `addresses[type eq "work"].formatted` (Entra's default mapping): the
  // attribute before its value filter or sub-attribute decides.
  if (DISCARDED.has(key) || DISCARDED.has(key.split(/[.[]/)[0] ?? '')) return;
  const simple = SIMPLE[key];
  if (simple !== undefined) {
    const next = text(path, value ?? null);
    if (simple === 'userName') {
      if (next === undefined || next.trim() === '') invalid(path, 'a non-empty userName');
      user.userName = next;
    } else if (next === undefined) delete user[simple];
    else (user as unknown as Record<string, string>)[simple] = next;
    return;
  }
  if (key === 'active') {
    user.active = booleanValue(path, value);
    return;
  }
  if (key === 'emails') {
    user.emails = emails(path, value ?? null);
    return;
  }
  const typed = WORK_EMAIL.exec(key);
  if (typed?.[1] !== undefined) {
    const type = typed[1];
    const rest = user.emails.filter((email) => email.type?.toLowerCase() !== type);
    const address = text(path, value ?? null);
    if (address !== undefined) {
      if (!/^[^\s@]+@[^\s@]+$/.test(address)) invalid(path, 'an e-mail address');
      rest.unshift({ value: address, type, primary: true });
    }
    user.emails = rest;
    return;
  }
  if (key === 'enterprise.manager' || key === 'enterprise.manager.value') {
    const managed = value !== null && typeof value === 'object' ? (value as Record<string, unknown>).value : value;
    const manager = text(path, managed ?? null);
    if (manager === undefined || manager === '') delete user.managerId;
    else user.managerId = manager;
    return;
  }
  if ((key === 'name' || key === 'enterprise') && (value === null || value === undefined)) {
    for (const member of Object.keys(SIMPLE).filter((name) => name.startsWith(`${key}.`))) {
      setUserAttribute(user, member, null);
    }
    if (key === 'enterprise') delete user.managerId;
    return;
  }
  if (key === 'name' || key === 'enterprise') {
    if (typeof value !== 'object' || Array.isArray(value)) invalid(path, 'an object');
    for (const [member, memberValue] of Object.entries(value as Record<string, unknown>)) {
      setUserAttribute(user, `${key}.${member}`, memberValue);
    }
    return;
  }
  throw new ScimProblem(400, `Unknown attribute "${path}"`, 'invalidPath');
}

/**
 * A User from a POST or PUT body (RFC 7644 §3.3, §3.5.1): `schemas` must name the User schema and may name the
 * enterprise extension; `id`, `meta` and `schemas` in the body are ignored as RFC 7644 §3.3 allows.
 */
export function parseUserBody(body: unknown): ScimUser {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ScimProblem(400, 'The body must be a JSON object', 'invalidSyntax');
  }
  const raw = body as Record<string, unknown>;
  const schemas = raw.schemas;
  if (!Array.isArray(schemas) || !schemas.some((schema) => schema === USER_SCHEMA)) {
    throw new ScimProblem(400, `schemas must include "${USER_SCHEMA}"`, 'invalidSyntax');
  }
  for (const schema of schemas) {
    if (schema !== USER_SCHEMA && schema !== ENTERPRISE_SCHEMA) {
      throw new ScimProblem(400, `Unknown schema "${String(schema)}"`, 'invalidSyntax');
    }
  }
  const user: ScimUser = { userName: '', active: true, emails: [] };
  for (const [name, value] of Object.entries(raw)) {
    const key = name.toLowerCase();
    if (key === 'schemas' || key === 'id' || key === 'meta') continue;
    setUserAttribute(user, name, value);
  }
  if (user.userName === '') throw new ScimProblem(400, 'userName is required', 'invalidValue');
  return user;
}
