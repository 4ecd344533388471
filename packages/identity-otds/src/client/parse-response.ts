import { IdrelayError } from '@idrelay/core';
import '../errors.js';
import type { OtdsGroup, OtdsMembers, OtdsPage, OtdsUser } from './otds-types.js';

/**
 * Checks OTDS response bodies before anything reads them. Unknown fields are ignored (OTDS adds fields between
 * versions); a known field of the wrong type, an entry without an id, or a body that is not an object is refused
 * with `ERR_OTDS_RESPONSE_INVALID`, because a half-read listing would make the poller report mass deletions.
 */

const MAX_ID_LENGTH = 1024;
const MAX_VALUES = 10_000;

function invalid(what: string, path: string): IdrelayError {
  return new IdrelayError('ERR_OTDS_RESPONSE_INVALID', `OTDS answered with ${what} at ${path || 'the top level'}`, {
    details: { path },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body as an object, or `ERR_OTDS_RESPONSE_INVALID`. */
export function objectBody(body: unknown, path = ''): Record<string, unknown> {
  if (!isRecord(body)) throw invalid('something other than a JSON object', path);
  return body;
}

function optionalString(record: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`a non-string ${key}`, `${path}.${key}`);
  return value;
}

function attributeValues(value: unknown, path: string): string[] {
  const list = Array.isArray(value) ? value : value === null || value === undefined ? [] : [value];
  if (list.length > MAX_VALUES) throw invalid('too many attribute values', path);
  return list.map((item, index) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw invalid('an attribute value that is not a string', `${path}[${index}]`);
  });
}

function attributesOf(record: Record<string, unknown>, path: string): Record<string, readonly string[]> {
  // A null prototype, so an attribute named `__proto__` or `constructor` is only ever data.
  const attributes: Record<string, readonly string[]> = Object.create(null);
  const map = record.attributes;
  if (map !== undefined && map !== null) {
    if (!isRecord(map)) throw invalid('attributes that are not an object', `${path}.attributes`);
    for (const [name, value] of Object.entries(map)) {
      attributes[name] = attributeValues(value, `${path}.attributes.${name}`);
    }
  }
  const values = record.values;
  if (values !== undefined && values !== null) {
    if (!Array.isArray(values)) throw invalid('values that are not a list', `${path}.values`);
    values.forEach((entry, index) => {
      const at = `${path}.values[${index}]`;
      if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '') {
        throw invalid('a value without a name', at);
      }
      attributes[entry.name] = attributeValues(entry.values, `${at}.values`);
    });
  }
  return attributes;
}

function entryOf(value: unknown, path: string): OtdsUser {
  const record = objectBody(value, path);
  const id = record.id;
  if (typeof id !== 'string' || id === '' || id.length > MAX_ID_LENGTH) throw invalid('an entry without an id', path);
  const name = optionalString(record, 'name', path) ?? id;
  const partition = optionalString(record, 'userPartitionID', path);
  const uuid = optionalString(record, 'uuid', path);
  return {
    id,
    name,
    ...(partition === undefined ? {} : { partition }),
    ...(uuid === undefined ? {} : { uuid }),
    attributes: attributesOf(record, path),
  };
}

/** One user (`GET /users/{id}`). */
export function parseUser(body: unknown): OtdsUser {
  return entryOf(body, '');
}

/** One group (`GET /groups/{id}`). */
export function parseGroup(body: unknown): OtdsGroup {
  return entryOf(body, '');
}

function listOf<T>(record: Record<string, unknown>, key: string, parse: (value: unknown, path: string) => T): T[] {
  const list = record[key];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw invalid(`a ${key} field that is not a list`, key);
  return list.map((item, index) => parse(item, `${key}[${index}]`));
}

function cookieOf(record: Record<string, unknown>): string | undefined {
  const cookie = optionalString(record, 'nextPageCookie', '');
  return cookie === undefined || cookie === '' ? undefined : cookie;
}

/** A page of `GET /users` (`{ users, nextPageCookie }`). */
export function parseUserPage(body: unknown): OtdsPage<OtdsUser> {
  const record = objectBody(body);
  const cookie = cookieOf(record);
  return { items: listOf(record, 'users', entryOf), ...(cookie === undefined ? {} : { nextPageCookie: cookie }) };
}

/** A page of `GET /groups`, `GET /users/{id}/memberof` or `GET /groups/{id}/memberof` (`{ groups, nextPageCookie }`). */
export function parseGroupPage(body: unknown): OtdsPage<OtdsGroup> {
  const record = objectBody(body);
  const cookie = cookieOf(record);
  return { items: listOf(record, 'groups', entryOf), ...(cookie === undefined ? {} : { nextPageCookie: cookie }) };
}

/** A page of `GET /groups/{id}/members` (`{ users, groups, nextPageCookie }`). */
export function parseMemberPage(body: unknown): OtdsPage<OtdsMembers> {
  const record = objectBody(body);
  const cookie = cookieOf(record);
  const members: OtdsMembers = { users: listOf(record, 'users', entryOf), groups: listOf(record, 'groups', entryOf) };
  return { items: [members], ...(cookie === undefined ? {} : { nextPageCookie: cookie }) };
}
