import { createHash, randomUUID } from 'node:crypto';
import { isIdrelayError } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import type { StoreDirectory } from '@idrelay/engine';
import { createBearerCheck } from './auth/bearer-tokens.js';
import { createdEvents, deletedEvents, updatedEvents } from './events/user-events.js';
import { createGroup, type GroupDirectory, groupRequest } from './groups/group-routes.js';
import { discovery } from './http/discovery.js';
import { readJsonBody } from './http/read-body.js';
import { problemResponse, ScimProblem, scimJson } from './http/scim-error.js';
import { patchUser } from './users/patch-user.js';
import { fromDirectoryUser, renderUser, type ScimUser, toDirectoryUser, userNameSubject } from './users/scim-user.js';
import { parseUserBody } from './users/user-attributes.js';
import { parseUserFilter } from './users/user-filter.js';

/** The directory writes the endpoint needs: a {@link StoreDirectory} from `createStoreDirectory(store)`. */
export type ScimDirectory = Pick<StoreDirectory, 'getUser' | 'findBySubject' | 'putUser' | 'removeUser' | 'listUsers'> &
  GroupDirectory;

/** Options of {@link createScimHandler}. */
export interface ScimHandlerOptions {
  /** Where users are written: `createStoreDirectory(store)` from `@idrelay/engine`. */
  directory: ScimDirectory;
  /** SHA-256 hex digests of the accepted bearer tokens ({@link hashScimToken}); at least one. */
  tokens: readonly string[];
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
  /** Ids of created users. Default `crypto.randomUUID()`. */
  newId?: () => string;
  /** Stamps event times. Default the system clock. */
  now?: () => Date;
}

/** A web-standard request handler: mount it in any server that speaks `Request`/`Response`. */
export type ScimHandler = (request: Request) => Promise<Response>;

function etagOf(id: string, user: ScimUser): string {
  return `W/"${createHash('sha256').update(id).update(JSON.stringify(user)).digest('base64url').slice(0, 22)}"`;
}

function positiveInt(value: string | null, name: string, fallback: number): number {
  if (value === null) return fallback;
  const parsed = Number(value);
  if (!/^\d{1,9}$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new ScimProblem(400, `${name} must be a non-negative integer`, 'invalidValue');
  }
  return parsed;
}

/**
 * A SCIM 2.0 service provider for Users (RFC 7644 §3): POST, GET (by id, and filtered by `userName`,
 * `externalId` or `id` with `eq`, paged), PUT, PATCH (with Entra's and Okta's quirks) and DELETE, authenticated by
 * static bearer tokens kept hashed. Users are written into the store directory; every change is handed to `emit`
 * as idrelay lifecycle events.
 *
 * @example
 * ```ts
 * const scim = createScimHandler({ directory: createStoreDirectory(store), tokens: [hashScimToken(secret)] });
 * const response = await scim(new Request('https://relay.example.com/scim/v2/Users/42', { headers }));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7644
 */
export function createScimHandler(options: ScimHandlerOptions): ScimHandler {
  if (options === null || typeof options !== 'object') throw new TypeError('expected an options object');
  const { directory } = options;
  if (directory === null || typeof directory !== 'object' || typeof directory.putUser !== 'function') {
    throw new TypeError('expected options.directory: a store directory (createStoreDirectory(store))');
  }
  const authorised = createBearerCheck(options.tokens);
  const basePath = (options.basePath ?? '/scim/v2').replace(/\/+$/, '');
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError('expected maxBodyBytes ≥ 1');
  const maxPageSize = options.maxPageSize ?? 100;
  if (!Number.isSafeInteger(maxPageSize) || maxPageSize < 1) throw new TypeError('expected maxPageSize ≥ 1');
  const newId = options.newId ?? randomUUID;
  const context = { source: options.source ?? 'urn:idrelay:scim', now: options.now ?? (() => new Date()) };
  const emit = async (events: readonly IdentityEvent[]): Promise<void> => {
    if (events.length > 0) await options.emit?.(events);
  };

  async function load(id: string): Promise<{ user: ScimUser; updatedAt: number }> {
    const stored = await directory.getUser(id);
    const user = stored === undefined ? undefined : fromDirectoryUser(stored);
    if (stored === undefined || user === undefined) throw new ScimProblem(404, `User ${id} not found`);
    return { user, updatedAt: stored.updatedAt };
  }

  async function write(id: string, user: ScimUser): Promise<number> {
    try {
      const { user: stored } = await directory.putUser(toDirectoryUser(id, user));
      return stored.updatedAt;
    } catch (error) {
      if (isIdrelayError(error, 'ERR_DIRECTORY_CONFLICT')) {
        throw new ScimProblem(409, 'Another user already has this userName or e-mail address', 'uniqueness');
      }
      if (isIdrelayError(error, 'ERR_DIRECTORY_INVALID')) {
        const issues = (error.details as { issues?: { path: string; message: string }[] } | undefined)?.issues ?? [];
        const text = issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
        throw new ScimProblem(400, text || error.message, 'invalidValue');
      }
      throw error;
    }
  }

  function respond(status: number, id: string, user: ScimUser, updatedAt: number, origin: string): Response {
    const version = etagOf(id, user);
    const location = `${origin}${basePath}/Users/${encodeURIComponent(id)}`;
    const body = renderUser(id, user, { location, lastModified: updatedAt, version });
    const headers: Record<string, string> = { etag: version };
    if (status === 201) headers.location = location;
    return scimJson(status, body, headers);
  }

  function checkIfMatch(request: Request, id: string, user: ScimUser): void {
    const header = request.headers.get('if-match');
    if (header === null || header.trim() === '*') return;
    const current = etagOf(id, user);
    const tags = header.split(',').map((tag) => tag.trim());
    if (!tags.some((tag) => tag === current || `W/${tag}` === current)) {
      throw new ScimProblem(412, 'The resource changed since the version given in If-Match');
    }
  }

  async function findByUserName(
    userName: string,
  ): Promise<{ id: string; user: ScimUser; updatedAt: number } | undefined> {
    const stored = await directory.findBySubject(userNameSubject(userName));
    const user = stored === undefined ? undefined : fromDirectoryUser(stored);
    return stored === undefined || user === undefined
      ? undefined
      : { id: stored.id, user, updatedAt: stored.updatedAt };
  }

  async function list(url: URL): Promise<Response> {
    const startIndex = Math.max(1, positiveInt(url.searchParams.get('startIndex'), 'startIndex', 1));
    const count = Math.min(maxPageSize, positiveInt(url.searchParams.get('count'), 'count', maxPageSize));
    const filter = url.searchParams.get('filter');
    let matches: { id: string; user: ScimUser; updatedAt: number }[] = [];
    if (filter !== null) {
      const lookup = parseUserFilter(filter);
      if (lookup.attribute === 'userName') {
        const found = await findByUserName(lookup.value);
        if (found !== undefined) matches.push(found);
      } else if (lookup.attribute === 'id') {
        const found = await load(lookup.value).catch(() => undefined);
        if (found !== undefined) matches.push({ id: lookup.value, ...found });
      } else {
        for await (const stored of directory.listUsers()) {
          const user = fromDirectoryUser(stored);
          if (user?.externalId === lookup.value) matches.push({ id: stored.id, user, updatedAt: stored.updatedAt });
        }
      }
    } else {
      for await (const stored of directory.listUsers()) {
        const user = fromDirectoryUser(stored);
        if (user !== undefined) matches.push({ id: stored.id, user, updatedAt: stored.updatedAt });
      }
    }
    const total = matches.length;
    matches = matches.slice(startIndex - 1, startIndex - 1 + count);
    const location = `${url.origin}${basePath}/Users/`;
    return scimJson(200, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: total,
      startIndex,
      itemsPerPage: matches.length,
      Resources: matches.map(({ id, user, updatedAt }) =>
        renderUser(id, user, {
          location: location + encodeURIComponent(id),
          lastModified: updatedAt,
          version: etagOf(id, user),
        }),
      ),
    });
  }

  function decodeId(segment: string): string {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new ScimProblem(404, 'No resource at a malformed id');
    }
  }

  async function groups(request: Request, method: string, url: URL, segment: string | undefined): Promise<Response> {
    const groupContext = { directory, ...context };
    let outcome: { response: Response; events: IdentityEvent[] };
    if (segment === undefined || segment === '') {
      if (method !== 'POST') throw new ScimProblem(405, `${method} is not allowed on /Groups`);
      const id = newId();
      const body = await readJsonBody(request, maxBodyBytes);
      outcome = await createGroup(groupContext, id, body, `${url.origin}${basePath}/Groups/${encodeURIComponent(id)}`);
    } else {
      const id = decodeId(segment);
      const location = `${url.origin}${basePath}/Groups/${encodeURIComponent(id)}`;
      outcome = await groupRequest(groupContext, method, id, () => readJsonBody(request, maxBodyBytes), location);
    }
    await emit(outcome.events);
    return outcome.response;
  }

  async function route(request: Request): Promise<Response> {
    if (!authorised(request.headers.get('authorization'))) {
      throw new ScimProblem(401, 'A valid bearer token is required');
    }
    const url = new URL(request.url);
    if (!url.pathname.startsWith(`${basePath}/`)) throw new ScimProblem(404, 'Not found');
    const rest = url.pathname.slice(basePath.length + 1).split('/');
    const method = request.method.toUpperCase();
    if (rest.length === 1) {
      const described = discovery(rest[0] ?? '', method, `${url.origin}${basePath}`, maxPageSize);
      if (described !== undefined) return described;
    }
    if (rest[0] === 'Groups' && rest.length <= 2) return groups(request, method, url, rest[1]);
    if (rest[0] !== 'Users' || rest.length > 2) throw new ScimProblem(404, `No resource at ${url.pathname}`);
    if (rest.length === 1 || rest[1] === '') {
      if (method === 'GET') return list(url);
      if (method === 'POST') {
        const user = parseUserBody(await readJsonBody(request, maxBodyBytes));
        if ((await findByUserName(user.userName)) !== undefined) {
          throw new ScimProblem(409, `userName "${user.userName}" is already taken`, 'uniqueness');
        }
        const id = newId();
        const updatedAt = await write(id, user);
        await emit(createdEvents(id, user, context));
        return respond(201, id, user, updatedAt, url.origin);
      }
      throw new ScimProblem(405, `${method} is not allowed on /Users`);
    }
    const id = decodeId(rest[1] ?? '');
    const current = await load(id);
    if (method === 'GET') return respond(200, id, current.user, current.updatedAt, url.origin);
    if (method === 'DELETE') {
      checkIfMatch(request, id, current.user);
      await directory.removeUser(id);
      await emit(deletedEvents(id, current.user, context));
      return new Response(null, { status: 204 });
    }
    if (method !== 'PUT' && method !== 'PATCH') throw new ScimProblem(405, `${method} is not allowed on a User`);
    const body = await readJsonBody(request, maxBodyBytes);
    checkIfMatch(request, id, current.user);
    const next = method === 'PUT' ? parseUserBody(body) : patchUser(current.user, body);
    if (next.userName.toLowerCase() !== current.user.userName.toLowerCase()) {
      const holder = await findByUserName(next.userName);
      if (holder !== undefined && holder.id !== id) {
        throw new ScimProblem(409, `userName "${next.userName}" is already taken`, 'uniqueness');
      }
    }
    const updatedAt = await write(id, next);
    await emit(updatedEvents(id, current.user, next, context));
    return respond(200, id, next, updatedAt, url.origin);
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
