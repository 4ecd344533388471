import { HttpResponse } from 'msw';
import type { OtdsMockGroup, OtdsMockUser } from './otds-state.js';

/** JSON shapes and paging of the in-memory OTDS: what the REST API answers, per OpenText's client `otds.py`. */

/** Headers of JSON answers. */
export const JSON_HEADERS = { 'content-type': 'application/json' };

/** One page of `items` per `page_size` and `next_page_cookie`; `undefined` for a cookie of another listing. */
export function page<T>(items: readonly T[], query: URLSearchParams, max: number, listing: string) {
  const size = Math.min(Math.max(1, Number.parseInt(query.get('page_size') ?? '250', 10) || 250), max);
  let offset = 0;
  const cookie = query.get('next_page_cookie');
  if (cookie !== null) {
    const decoded = decodeCookie(cookie);
    if (decoded === undefined || decoded.listing !== listing) return undefined;
    offset = decoded.offset;
  }
  const slice = items.slice(offset, offset + size);
  const next = offset + size < items.length ? encodeCookie({ listing, offset: offset + size }) : null;
  return { slice, next, size, requested: size };
}

function encodeCookie(value: { listing: string; offset: number }): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

function decodeCookie(cookie: string): { listing: string; offset: number } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cookie, 'base64').toString('utf8')) as { listing?: unknown; offset?: unknown };
    if (typeof value.listing === 'string' && Number.isInteger(value.offset)) {
      return { listing: value.listing, offset: value.offset as number };
    }
  } catch {}
  return undefined;
}

function attributesJson(attributes: Map<string, string[]>, asKeys: boolean) {
  if (asKeys) return { attributes: Object.fromEntries(attributes), values: [] };
  return { attributes: null, values: [...attributes].map(([name, values]) => ({ name, values })) };
}

/** A user as `GET /users/{id}` answers it. */
export function userJson(user: OtdsMockUser, asKeys: boolean) {
  return {
    userPartitionID: user.partition,
    name: user.name,
    location: `oTPerson=${user.uuid},orgunit=users,partition=${user.partition},dc=identity,dc=opentext,dc=net`,
    id: user.id,
    ...attributesJson(user.attributes, asKeys),
    customAttributes: null,
    objectClass: 'oTPerson',
    uuid: user.uuid,
    description: null,
    originUUID: null,
    urlId: user.id,
  };
}

/** A group as `GET /groups/{id}` answers it. */
export function groupJson(group: OtdsMockGroup, asKeys: boolean) {
  return {
    numMembers: group.members.size + group.groups.size,
    userPartitionID: group.partition,
    name: group.name,
    location: `oTGroup=${group.uuid},orgunit=groups,partition=${group.partition},dc=identity,dc=opentext,dc=net`,
    id: group.id,
    ...attributesJson(group.attributes, asKeys),
    customAttributes: null,
    objectClass: 'oTGroup',
    uuid: group.uuid,
    description: null,
    originUUID: null,
    urlId: group.id,
  };
}

/** `where_filter` here: a case-insensitive substring of the id, name or any value (OTDS documents no grammar). */
export function matchesFilter(
  filter: string | null,
  id: string,
  name: string,
  attributes: Map<string, string[]>,
): boolean {
  if (filter === null || filter === '') return true;
  const needle = filter.toLowerCase();
  if (id.toLowerCase().includes(needle) || name.toLowerCase().includes(needle)) return true;
  for (const values of attributes.values())
    if (values.some((value) => value.toLowerCase().includes(needle))) return true;
  return false;
}

/** An OTDS-style error body. */
export function errorResponse(status: number, message: string) {
  return HttpResponse.json({ status, error: message, errorDetails: null } as never, { status });
}
