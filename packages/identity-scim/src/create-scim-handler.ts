import { createHash, randomUUID } from 'node:crypto';
import { isIdrelayError, type Store, type SubjectIdentifier } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { bearerToken, createBearerCheck } from './auth/bearer-tokens.js';
import { createdEvents, deletedEvents, updatedEvents } from './events/user-events.js';
import { createGroup, type GroupContext, groupRequest, listGroups } from './groups/group-routes.js';
import { discovery } from './http/discovery.js';
import { readJsonBody } from './http/read-body.js';
import { problemResponse, ScimProblem, scimJson } from './http/scim-error.js';
import {
  anchorOf,
  compareKeys,
  type Json,
  type ListQuery,
  parseListQuery,
  parseProjection,
} from './query/list-query.js';
import { GROUP_RESOURCE, USER_RESOURCE } from './schemas/attribute-schema.js';
import { patchUser } from './users/patch-user.js';
import {
  externalIdSubject,
  fromDirectoryUser,
  renderUser,
  type ScimUser,
  type Scope,
  toDirectoryUser,
  UNSCOPED,
  userNameSubject,
} from './users/scim-user.js';
import { parseUserBody } from './users/user-attributes.js';

/** A tenant of a multi-tenant endpoint: its id and the digests of its static tokens. */
export interface ScimTenant {
  /** 1-64 characters of `a-z 0-9 _ -`; prefixes every directory id the tenant writes (`acme:<id>`). */
  id: string;
  /** SHA-256 hex digests ({@link hashScimToken}) of the tenant's static tokens; may be empty with `verifyBearer`. */
  tokens?: readonly string[];
}

/** Options of {@link createScimHandler}. */
export interface ScimHandlerOptions {
  /** The relay's store: users and groups are written through `createStoreDirectory(store)` and paged from it. */
  store: Pick<Store, 'name' | 'directory'>;
  /** SHA-256 hex digests of the accepted static bearer tokens ({@link hashScimToken}) of the single tenant. */
  tokens?: readonly string[];
  /**
   * More than one tenant: each sees only its own users and groups (ids prefixed `<tenant>:` in the directory).
   * Exclusive with `tokens`.
   */
  tenants?: readonly ScimTenant[];
  /**
   * Verifies an OAuth 2.0 bearer token a static token did not match (same shape as `createBearerVerifier()` of
   * `@idrelay/identity-oidc`): resolves to the principal or throws. An error with `retryable: true` (e.g.
   * `ERR_OIDC_UNAVAILABLE`) answers 503, any other 401.
   */
  verifyBearer?: (request: Request) => Promise<unknown>;
  /** With `tenants` and `verifyBearer`: the tenant id a verified principal acts for (`undefined` → 403). */
  tenantOf?: (principal: unknown) => string | undefined;
  /**
   * Receives the lifecycle events of every change, in order, after it is written; hand them to the relay with
   * `async (events) => { for (const event of events) await relay.ingest(event); }`.
   */
  emit?: (events: readonly IdentityEvent[]) => void | Promise<void>;
  /** The path the endpoint is mounted at. Default `/scim/v2`. */
  basePath?: string;
  /** CloudEvents `source` of the events. Default `urn:idrelay:scim`. */
  source?: string;
  /** Largest accepted request body in bytes. Default 1 MiB (1,048,576). */
  maxBodyBytes?: number;
  /** Page size when `count` is absent, and the largest `count` honoured. Default 100. */
  maxPageSize?: number;
  /** How long an unfiltered list's `totalResults` is reused before the users are counted again. Default 30,000 ms. */
  totalCacheMs?: number;
  /** Ids of created users and groups; must never repeat (a write replaces by id). Default `crypto.randomUUID()`. */
  newId?: () => string;
  /** Stamps event times and `lastModified`. Default the system clock. */
  now?: () => Date;
}

/** A web-standard request handler: mount it in any server that speaks `Request`/`Response`. */
export type ScimHandler = (request: Request) => Promise<Response>;

const TENANT_ID = /^[a-z0-9_-]{1,64}$/;
const PAGE = 500;
const CURSORS = 1024;

function etagOf(id: string, user: ScimUser): string {
  return `W/"${createHash('sha256').update(id).update(JSON.stringify(user)).digest('base64url').slice(0, 22)}"`;
}

interface Found {
  id: string;
  user: ScimUser;
  updatedAt: number;
}

function tenantsOf(options: ScimHandlerOptions): {
  scopes: Map<string, Scope>;
  entries: { digest: string; owner: Scope; where: string }[];
} {
  const scopes = new Map<string, Scope>();
  const entries: { digest: string; owner: Scope; where: string }[] = [];
  if (options.tenants !== undefined) {
    if (options.tokens !== undefined) throw new TypeError('give either tokens or tenants, not both');
    if (!Array.isArray(options.tenants) || options.tenants.length === 0) {
      throw new TypeError('expected tenants: a non-empty array of { id, tokens }');
    }
    options.tenants.forEach((tenant, index) => {
      if (typeof tenant?.id !== 'string' || !TENANT_ID.test(tenant.id)) {
        throw new TypeError(`expected tenants[${index}].id: 1-64 characters of a-z 0-9 _ -`);
      }
      if (scopes.has(tenant.id)) throw new TypeError(`tenant "${tenant.id}" is listed twice`);
      const scope: Scope = { tenant: tenant.id, prefix: `${tenant.id}:` };
      scopes.set(tenant.id, scope);
      const tokens: readonly string[] = tenant.tokens ?? [];
      for (const [at, digest] of tokens.entries()) {
        entries.push({ digest, owner: scope, where: `tenants[${index}].tokens[${at}]` });
      }
    });
    if (options.verifyBearer !== undefined && typeof options.tenantOf !== 'function') {
      throw new TypeError('expected tenantOf(principal) with tenants and verifyBearer');
    }
  } else {
    if (options.tokens !== undefined && !Array.isArray(options.tokens))
      throw new TypeError('expected tokens: an array');
    const tokens: readonly string[] = options.tokens ?? [];
    tokens.forEach((digest, at) => {
      entries.push({ digest, owner: UNSCOPED, where: `tokens[${at}]` });
    });
  }
  if (entries.length === 0 && options.verifyBearer === undefined) {
    throw new TypeError(
      'expected tokens: a non-empty array of SHA-256 hex digests (see hashScimToken), or verifyBearer',
    );
  }
  if (options.verifyBearer !== undefined && typeof options.verifyBearer !== 'function') {
    throw new TypeError('expected verifyBearer: (request) => Promise<principal>');
  }
  return { scopes, entries };
}

/**
 * A SCIM 2.0 service provider (RFC 7644): `/Users` and `/Groups` with POST, GET (filters of RFC 7644 §3.4.2.2,
 * sorting, paging, projection), PUT, PATCH (with Entra's and Okta's quirks) and DELETE, ETags with `If-Match`,
 * and `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`. Authenticated by static bearer tokens kept hashed
 * and/or an OAuth 2.0 `verifyBearer`; with several tenants each sees only its own resources. Users and groups
 * are written into the store directory; every change is handed to `emit` as idrelay lifecycle events.
 *
 * @example
 * ```ts
 * const scim = createScimHandler({ store, tokens: [hashScimToken(secret)] });
 * const response = await scim(new Request('https://relay.example.com/scim/v2/Users/42', { headers }));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7644
 */
export function createScimHandler(options: ScimHandlerOptions): ScimHandler {
  if (options === null || typeof options !== 'object') throw new TypeError('expected an options object');
  const { store } = options;
  if (store === null || typeof store !== 'object' || typeof store.directory?.listUsers !== 'function') {
    throw new TypeError('expected options.store: the relay store (createSqliteStore, createPostgresStore, …)');
  }
  const now = options.now ?? (() => new Date());
  const directory = createStoreDirectory(store as Store, { clock: { now: () => now().getTime() } });
  const port = store.directory;
  const { scopes, entries } = tenantsOf(options);
  const check = createBearerCheck(entries);
  const basePath = (options.basePath ?? '/scim/v2').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError('expected maxBodyBytes ≥ 1');
  const maxPageSize = options.maxPageSize ?? 100;
  if (!Number.isSafeInteger(maxPageSize) || maxPageSize < 1) throw new TypeError('expected maxPageSize ≥ 1');
  const totalCacheMs = options.totalCacheMs ?? 30_000;
  if (!Number.isSafeInteger(totalCacheMs) || totalCacheMs < 0) throw new TypeError('expected totalCacheMs ≥ 0');
  const newId = options.newId ?? randomUUID;
  const source = options.source ?? 'urn:idrelay:scim';
  const emit = async (events: readonly IdentityEvent[]): Promise<void> => {
    if (events.length > 0) await options.emit?.(events);
  };
  // Unfiltered paging: the tenant's user count (kept for totalCacheMs, moved by this handler's own creates and
  // deletes) and where each next page starts, so Okta's startIndex walk reads one page per request.
  const totals = new Map<string, { total: number; at: number }>();
  const cursors = new Map<string, { after: string; at: number }>();

  async function authenticate(request: Request): Promise<Scope> {
    const token = bearerToken(request.headers.get('authorization'));
    if (token === undefined) throw new ScimProblem(401, 'A valid bearer token is required');
    const owner = check(token);
    if (owner !== undefined) return owner;
    if (options.verifyBearer === undefined) throw new ScimProblem(401, 'A valid bearer token is required');
    let principal: unknown;
    try {
      principal = await options.verifyBearer(request);
    } catch (error) {
      const retryable =
        isIdrelayError(error, 'ERR_OIDC_UNAVAILABLE') ||
        (typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true);
      if (retryable) throw new ScimProblem(503, 'The token cannot be verified now; retry later');
      throw new ScimProblem(401, 'A valid bearer token is required');
    }
    if (options.tenants === undefined) return UNSCOPED;
    const tenant = options.tenantOf?.(principal);
    const scope = tenant === undefined ? undefined : scopes.get(tenant);
    if (scope === undefined) throw new ScimProblem(403, 'The token is not allowed for any tenant of this endpoint');
    return scope;
  }

  async function load(scope: Scope, id: string): Promise<Found> {
    const stored = await directory.getUser(scope.prefix + id);
    const user = stored === undefined ? undefined : fromDirectoryUser(stored, scope);
    if (stored === undefined || user === undefined) throw new ScimProblem(404, `User ${id} not found`);
    return { id, user, updatedAt: stored.updatedAt };
  }

  async function write(scope: Scope, id: string, user: ScimUser): Promise<number> {
    try {
      const { user: stored } = await directory.putUser(toDirectoryUser(scope.prefix + id, user, scope));
      return stored.updatedAt;
    } catch (error) {
      if (isIdrelayError(error, 'ERR_DIRECTORY_CONFLICT')) {
        // The store checks every subject atomically with the write: this is the uniqueness check, not a pre-read.
        const subject = String((error.details as { subject?: unknown } | undefined)?.subject ?? '');
        const what = subject.includes(':userName:')
          ? `userName "${user.userName}"`
          : subject.includes(':externalId:')
            ? `externalId "${user.externalId}"`
            : 'this e-mail address';
        throw new ScimProblem(409, `Another user already has ${what}`, 'uniqueness');
      }
      if (isIdrelayError(error, 'ERR_DIRECTORY_INVALID')) {
        const issues = (error.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
        const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
        throw new ScimProblem(400, text || error.message, 'invalidValue');
      }
      throw error;
    }
  }

  function render(base: string, found: Found): Json {
    return renderUser(found.id, found.user, {
      location: `${base}/Users/${encodeURIComponent(found.id)}`,
      lastModified: found.updatedAt,
      version: etagOf(found.id, found.user),
    });
  }

  function respond(status: number, base: string, found: Found, url: URL): Response {
    const body = render(base, found);
    const headers: Record<string, string> = { etag: etagOf(found.id, found.user) };
    if (status === 201) headers.location = body.meta === undefined ? '' : (body.meta as { location: string }).location;
    return scimJson(status, parseProjection(USER_RESOURCE, url.searchParams)(body), headers);
  }

  function checkIfMatch(request: Request, found: Found): void {
    const header = request.headers.get('if-match');
    if (header === null || header.trim() === '*') return;
    const current = etagOf(found.id, found.user);
    const tags = header.split(',').map((tag) => tag.trim());
    if (!tags.some((tag) => tag === current || `W/${tag}` === current)) {
      throw new ScimProblem(412, 'The resource changed since the version given in If-Match');
    }
  }

  async function findByUserName(scope: Scope, userName: string): Promise<Found | undefined> {
    return findBySubject(scope, userNameSubject(userName, scope));
  }

  async function findBySubject(scope: Scope, subject: SubjectIdentifier): Promise<Found | undefined> {
    const stored = await directory.findBySubject(subject);
    if (stored === undefined || !stored.id.startsWith(scope.prefix)) return undefined;
    const user = fromDirectoryUser(stored, scope);
    return user === undefined
      ? undefined
      : { id: stored.id.slice(scope.prefix.length), user, updatedAt: stored.updatedAt };
  }

  /** The tenant's SCIM users in id order from keyset `after`, page by page, until `visit` answers false. */
  async function walk(scope: Scope, after: string | undefined, visit: (found: Found) => boolean): Promise<void> {
    let cursor = after ?? (scope.prefix === '' ? undefined : scope.prefix);
    for (;;) {
      const page = await port.listUsers(cursor === undefined ? { limit: PAGE } : { after: cursor, limit: PAGE });
      for (const stored of page) {
        if (!stored.id.startsWith(scope.prefix)) return;
        const user = fromDirectoryUser(stored, scope);
        if (user === undefined) continue;
        if (!visit({ id: stored.id.slice(scope.prefix.length), user, updatedAt: stored.updatedAt })) return;
      }
      if (page.length < PAGE) return;
      cursor = page[page.length - 1]?.id;
    }
  }

  async function totalOf(scope: Scope): Promise<number> {
    const key = scope.prefix;
    const cached = totals.get(key);
    const at = now().getTime();
    if (cached !== undefined && at - cached.at < totalCacheMs) return cached.total;
    let total = 0;
    await walk(scope, undefined, () => {
      total++;
      return true;
    });
    totals.set(key, { total, at });
    return total;
  }

  function moveTotal(scope: Scope, by: number): void {
    const cached = totals.get(scope.prefix);
    if (cached !== undefined) cached.total = Math.max(0, cached.total + by);
  }

  function remember(key: string, after: string): void {
    cursors.delete(key);
    cursors.set(key, { after, at: now().getTime() });
    if (cursors.size > CURSORS) cursors.delete(cursors.keys().next().value as string);
  }

  /** An unfiltered, unsorted page: read from the cursor the previous page left, or from the start. */
  async function plainPage(scope: Scope, query: ListQuery): Promise<{ total: number; page: Found[] }> {
    const total = await totalOf(scope);
    const page: Found[] = [];
    if (query.count === 0) return { total, page };
    const key = `${scope.prefix}\u0000${query.startIndex}`;
    const remembered = cursors.get(key);
    // A cursor is as fresh as the total it pages against; an older one would put startIndex somewhere else.
    const cursor =
      remembered !== undefined && now().getTime() - remembered.at < totalCacheMs ? remembered.after : undefined;
    let skip = cursor === undefined ? query.startIndex - 1 : 0;
    let last: string | undefined;
    await walk(scope, cursor, (found) => {
      last = found.id;
      if (skip > 0) {
        skip--;
        return true;
      }
      page.push(found);
      return page.length < query.count;
    });
    if (last !== undefined && page.length === query.count)
      remember(`${scope.prefix}\u0000${query.startIndex + query.count}`, scope.prefix + last);
    return { total, page };
  }

  async function listUsers(scope: Scope, url: URL, base: string): Promise<Response> {
    const query = parseListQuery(USER_RESOURCE, url.searchParams, maxPageSize);
    let total: number;
    let resources: Json[];
    if (query.filter === undefined && query.sort === undefined) {
      const result = await plainPage(scope, query);
      total = result.total;
      resources = result.page.map((found) => render(base, found));
    } else {
      let matches: Json[] = [];
      const filter = query.filter;
      const userName = anchorOf(filter?.node, 'userName');
      const id = anchorOf(filter?.node, 'id');
      const externalId = anchorOf(filter?.node, 'externalId');
      if (userName !== undefined || id !== undefined || externalId !== undefined) {
        // One indexed read: every match of the filter must have this userName, id or externalId.
        let found: Found | undefined;
        if (userName !== undefined) found = await findByUserName(scope, userName);
        else if (externalId !== undefined) found = await findBySubject(scope, externalIdSubject(externalId, scope));
        else {
          found = await load(scope, id as string).catch((error: unknown) => {
            if (error instanceof ScimProblem) return undefined;
            throw error;
          });
        }
        const resource = found === undefined ? undefined : render(base, found);
        if (resource !== undefined && (filter === undefined || filter.matches(resource))) matches.push(resource);
      } else {
        await walk(scope, undefined, (found) => {
          const resource = render(base, found);
          if (filter === undefined || filter.matches(resource)) matches.push(resource);
          return true;
        });
      }
      const sort = query.sort;
      if (sort !== undefined) matches.sort((a, b) => compareKeys(sort.key(a), sort.key(b), sort.descending));
      total = matches.length;
      matches = matches.slice(query.startIndex - 1, query.startIndex - 1 + query.count);
      resources = matches;
    }
    return scimJson(200, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: total,
      startIndex: query.startIndex,
      itemsPerPage: resources.length,
      Resources: resources.map(query.project),
    });
  }

  function decodeId(segment: string): string {
    try {
      const id = decodeURIComponent(segment);
      if (id === '' || id.length > 400) throw new ScimProblem(404, 'No resource at this id');
      return id;
    } catch {
      throw new ScimProblem(404, 'No resource at a malformed id');
    }
  }

  async function groups(
    scope: Scope,
    request: Request,
    method: string,
    url: URL,
    segment: string | undefined,
  ): Promise<Response> {
    const base = `${url.origin}${basePath}`;
    const context: GroupContext = { directory, port, scope, base, source, now };
    if (segment === undefined || segment === '') {
      if (method === 'GET') return listGroups(context, parseListQuery(GROUP_RESOURCE, url.searchParams, maxPageSize));
      if (method !== 'POST') throw new ScimProblem(405, `${method} is not allowed on /Groups`);
      const body = await readJsonBody(request, maxBodyBytes);
      const outcome = await createGroup(context, newId(), body);
      await emit(outcome.events);
      return outcome.response;
    }
    const outcome = await groupRequest(
      context,
      {
        method,
        ifMatch: request.headers.get('if-match'),
        readBody: () => readJsonBody(request, maxBodyBytes),
        project: parseProjection(GROUP_RESOURCE, url.searchParams),
      },
      decodeId(segment),
    );
    await emit(outcome.events);
    return outcome.response;
  }

  async function users(
    scope: Scope,
    request: Request,
    method: string,
    url: URL,
    segment: string | undefined,
  ): Promise<Response> {
    const base = `${url.origin}${basePath}`;
    const events = { source, now, scope };
    if (segment === undefined || segment === '') {
      if (method === 'GET') return listUsers(scope, url, base);
      if (method !== 'POST') throw new ScimProblem(405, `${method} is not allowed on /Users`);
      const user = parseUserBody(await readJsonBody(request, maxBodyBytes));
      // The store refuses a taken userName atomically too (two racing POSTs: one gets 409 from the write); this
      // read answers the common case before an id is spent. newId() must not repeat: putUser replaces by id.
      if ((await findByUserName(scope, user.userName)) !== undefined) {
        throw new ScimProblem(409, `userName "${user.userName}" is already taken`, 'uniqueness');
      }
      const id = newId();
      const updatedAt = await write(scope, id, user);
      moveTotal(scope, 1);
      await emit(createdEvents(id, user, events));
      return respond(201, base, { id, user, updatedAt }, url);
    }
    const id = decodeId(segment);
    const current = await load(scope, id);
    if (method === 'GET') return respond(200, base, current, url);
    if (method === 'DELETE') {
      checkIfMatch(request, current);
      await directory.removeUser(scope.prefix + id);
      moveTotal(scope, -1);
      await emit(deletedEvents(id, current.user, events));
      return new Response(null, { status: 204 });
    }
    if (method !== 'PUT' && method !== 'PATCH') throw new ScimProblem(405, `${method} is not allowed on a User`);
    const body = await readJsonBody(request, maxBodyBytes);
    checkIfMatch(request, current);
    const next = method === 'PUT' ? parseUserBody(body) : patchUser(current.user, body);
    const updatedAt = await write(scope, id, next);
    await emit(updatedEvents(id, current.user, next, events));
    return respond(200, base, { id, user: next, updatedAt }, url);
  }

  async function route(request: Request): Promise<Response> {
    const scope = await authenticate(request);
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${basePath}/`)) throw new ScimProblem(404, 'Not found');
    const rest = url.pathname.slice(basePath.length + 1).split('/');
    const method = request.method.toUpperCase();
    if (rest.length > 2) throw new ScimProblem(404, `No resource at ${url.pathname}`);
    const [resource = '', segment] = rest;
    const described = discovery(resource, segment, method, `${url.origin}${basePath}`, maxPageSize);
    if (described !== undefined) return described;
    if (resource === 'Groups') return groups(scope, request, method, url, segment);
    if (resource === 'Users') return users(scope, request, method, url, segment);
    throw new ScimProblem(404, `No resource at ${url.pathname}`);
  }

  return async (request) => {
    try {
      return await route(request);
    } catch (error) {
      if (error instanceof ScimProblem) {
        return problemResponse(error, error.status === 401 ? { 'www-authenticate': 'Bearer realm="scim"' } : {});
      }
      throw error;
    }
  };
}
