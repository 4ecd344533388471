import { randomBytes } from 'node:crypto';
import { delay, HttpResponse, http, type RequestHandler } from 'msw';
import {
  createOtdsState,
  type OtdsMockGroup,
  type OtdsMockState,
  type OtdsMockUser,
  type OtdsSeedGroup,
  type OtdsSeedUser,
} from './otds-state.js';

/** Options of {@link otdsHandlers}. */
export interface OtdsHandlersOptions {
  /** Where the in-memory OTDS answers. Default `https://otds.test`. */
  baseUrl?: string;
  users?: readonly OtdsSeedUser[];
  groups?: readonly OtdsSeedGroup[];
  /** Accounts `POST /otdsws/rest/authentication/credentials` accepts. Default `otadmin@otds.admin` / `otds-secret`. */
  credentials?: readonly { userName: string; password: string }[];
  /** OAuth clients the token endpoint accepts. Default `idrelay` / `client-secret`. */
  oauthClients?: readonly { clientId: string; clientSecret: string }[];
  /** `expires_in` of access tokens. Default 3600. */
  tokenTtlSeconds?: number;
  /** Largest page served, whatever `page_size` asks. Default 1000. */
  maxPageSize?: number;
  /** Clock for token expiry. Default `Date.now`. */
  now?: () => number;
}

/** A fault injected into the next matching requests. */
export interface OtdsFault {
  /** Answer with this status (429, 500, 503 …, or 200 with a `body` for malformed answers). */
  status?: number;
  /** Raw response body; default a small JSON error. */
  body?: string;
  /** `Retry-After` header value. */
  retryAfter?: string;
  /** More response headers, e.g. a `location` for a redirect. */
  headers?: Record<string, string>;
  /** Never answer (for timeouts); `status` is then ignored. */
  hang?: boolean;
  /** Fail at the network level (connection reset); `status` is then ignored. */
  network?: boolean;
  /** Only requests whose path (after `/otdsws`) starts with this, e.g. `/rest/users`. Default every request. */
  path?: string;
  method?: string;
  /** How many requests it applies to. Default 1. */
  times?: number;
}

/** A request the in-memory OTDS received. */
export interface OtdsRecordedRequest {
  method: string;
  /** The raw path as sent, e.g. `/otdsws/rest/users/a%2Fb`. */
  rawPath: string;
  /** The decoded segments after `/otdsws/rest` (or `/otdsws`), e.g. `['users', 'a/b']`. */
  segments: string[];
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
}

/** msw handlers for an in-memory OTDS plus its controls. */
export interface OtdsMswHandlers {
  /** Pass to `setupServer(...handlers)` or `server.use(...handlers)`. */
  readonly handlers: RequestHandler[];
  readonly baseUrl: string;
  /** The directory; mutate it between polls. */
  readonly state: OtdsMockState;
  /** Every request received, oldest first. */
  readonly requests: readonly OtdsRecordedRequest[];
  readonly ticketsIssued: number;
  readonly tokensIssued: number;
  /** Makes every ticket issued so far invalid: the next request with one gets 401. */
  expireTickets(): void;
  /** Makes every access token issued so far invalid. */
  revokeTokens(): void;
  /** Injects a fault into the next matching request(s). */
  fail(fault: OtdsFault): void;
  clearFaults(): void;
}

interface Pending extends OtdsFault {
  left: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function page<T>(items: readonly T[], query: URLSearchParams, max: number, listing: string) {
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

function userJson(user: OtdsMockUser, asKeys: boolean) {
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

function groupJson(group: OtdsMockGroup, asKeys: boolean) {
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

function matchesFilter(filter: string | null, id: string, name: string, attributes: Map<string, string[]>): boolean {
  if (filter === null || filter === '') return true;
  const needle = filter.toLowerCase();
  if (id.toLowerCase().includes(needle) || name.toLowerCase().includes(needle)) return true;
  for (const values of attributes.values())
    if (values.some((value) => value.toLowerCase().includes(needle))) return true;
  return false;
}

/**
 * msw request handlers for an in-memory OpenText Directory Services, following the documented REST endpoints:
 * `POST /otdsws/rest/authentication/credentials` (→ `ticket`, sent back as the `OTDSTicket` header),
 * `POST /otdsws/oauth2/token` (client credentials), `GET /otdsws/rest/users|groups` with `page_size`,
 * `next_page_cookie` → `nextPageCookie`, `where_filter` (a case-insensitive substring here; OTDS does not document
 * its rules) and `where_partition_name`, `GET /users/{id}`, `PATCH /users/{id}` (`{ values: [{ name, values }] }`),
 * `GET|POST|DELETE /users/{id}/memberof` (`{ stringList }`), `GET /groups/{id}`, `/groups/{id}/members` and
 * `/groups/{id}/memberof`. Ids are decoded from one path segment each, so tests can check that hostile ids arrive
 * intact. Faults (429, 5xx, malformed bodies, hangs), expired tickets and revoked tokens are injectable.
 *
 * @example
 * ```ts
 * const otds = otdsHandlers({ users: [{ id: 'alice@Users', attributes: { mail: 'alice@example.com' } }] });
 * const server = setupServer(...otds.handlers);
 * server.listen({ onUnhandledFrame: 'error' });
 * otds.fail({ status: 429, retryAfter: '0', path: '/rest/users' });
 * ```
 */
export function otdsHandlers(options: OtdsHandlersOptions = {}): OtdsMswHandlers {
  const baseUrl = (options.baseUrl ?? 'https://otds.test').replace(/\/+$/, '');
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const state = createOtdsState(options.users ?? [], options.groups ?? []);
  const credentials = options.credentials ?? [{ userName: 'otadmin@otds.admin', password: 'otds-secret' }];
  const clients = options.oauthClients ?? [{ clientId: 'idrelay', clientSecret: 'client-secret' }];
  const ttl = options.tokenTtlSeconds ?? 3600;
  const maxPage = options.maxPageSize ?? 1000;
  const now = options.now ?? Date.now;
  const tickets = new Set<string>();
  const tokens = new Map<string, number>();
  const requests: OtdsRecordedRequest[] = [];
  let faults: Pending[] = [];
  let ticketsIssued = 0;
  let tokensIssued = 0;

  const error = (status: number, message: string) =>
    HttpResponse.json({ status, error: message, errorDetails: null } as never, { status });

  function takeFault(method: string, path: string): Pending | undefined {
    const fault = faults.find(
      (candidate) =>
        candidate.left > 0 &&
        (candidate.path === undefined || path.startsWith(candidate.path)) &&
        (candidate.method === undefined || candidate.method.toUpperCase() === method),
    );
    if (fault === undefined) return undefined;
    fault.left--;
    faults = faults.filter((candidate) => candidate.left > 0);
    return fault;
  }

  function authorised(request: Request): boolean {
    const ticket = request.headers.get('otdsticket');
    if (ticket !== null) return tickets.has(ticket);
    const authorization = request.headers.get('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(authorization);
    if (match === null) return false;
    const expiresAt = tokens.get(match[1] ?? '');
    return expiresAt !== undefined && now() < expiresAt;
  }

  async function credentialsLogin(text: string) {
    let body: { userName?: unknown; password?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return error(400, 'Malformed JSON');
    }
    const known = credentials.some((entry) => entry.userName === body.userName && entry.password === body.password);
    if (!known) {
      return HttpResponse.json({ ticket: null, failureReason: 'Invalid username or password', token: null } as never, {
        status: 401,
      });
    }
    const ticket = `*OTDSSSO*${randomBytes(24).toString('base64url')}*`;
    tickets.add(ticket);
    ticketsIssued++;
    return HttpResponse.json({
      token: randomBytes(8).toString('hex'),
      userId: String(body.userName),
      ticket,
      resourceID: null,
      failureReason: null,
      passwordExpirationTime: 0,
      continuation: false,
      continuationContext: null,
      continuationData: null,
    } as never);
  }

  function tokenGrant(request: Request, text: string) {
    const form = new URLSearchParams(text);
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic (.+)$/.exec(request.headers.get('authorization') ?? '');
    if (basic !== null) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return HttpResponse.json({ error: 'unsupported_grant_type' } as never, { status: 400 });
    }
    if (!clients.some((client) => client.clientId === clientId && client.clientSecret === clientSecret)) {
      return HttpResponse.json({ error: 'invalid_client' } as never, { status: 401 });
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, now() + ttl * 1000);
    tokensIssued++;
    return HttpResponse.json({ access_token: token, token_type: 'Bearer', expires_in: ttl } as never);
  }

  function readStringList(text: string): string[] | undefined {
    try {
      const body = JSON.parse(text) as { stringList?: unknown };
      if (Array.isArray(body.stringList) && body.stringList.every((item) => typeof item === 'string')) {
        return body.stringList as string[];
      }
    } catch {}
    return undefined;
  }

  function rest(method: string, segments: string[], query: URLSearchParams, text: string) {
    const asKeys = query.get('attrsAsKeys') === 'true';
    const filter = query.get('where_filter');
    const partition = query.get('where_partition_name');
    const [collection, id, sub, extra] = segments;
    if (extra !== undefined) return error(404, 'Not found');
    if (collection === 'users' && id === undefined && method === 'GET') {
      const matching = [...state.users.values()].filter(
        (user) =>
          (partition === null || user.partition === partition) &&
          matchesFilter(filter, user.id, user.name, user.attributes),
      );
      const result = page(matching, query, maxPage, `users:${filter}:${partition}`);
      if (result === undefined) return error(400, 'Invalid next_page_cookie');
      return HttpResponse.json({
        users: result.slice.map((user) => userJson(user, asKeys)),
        nextPageCookie: result.next,
        requestedPageSize: result.requested,
        actualPageSize: result.slice.length,
      } as never);
    }
    if (collection === 'groups' && id === undefined && method === 'GET') {
      const matching = [...state.groups.values()].filter(
        (group) =>
          (partition === null || group.partition === partition) &&
          matchesFilter(filter, group.id, group.name, group.attributes),
      );
      const result = page(matching, query, maxPage, `groups:${filter}:${partition}`);
      if (result === undefined) return error(400, 'Invalid next_page_cookie');
      return HttpResponse.json({
        groups: result.slice.map((group) => groupJson(group, asKeys)),
        nextPageCookie: result.next,
        requestedPageSize: result.requested,
        actualPageSize: result.slice.length,
      } as never);
    }
    if (collection === 'users' && id !== undefined) {
      const user = state.users.get(id);
      if (user === undefined) return error(404, `User ${id} not found`);
      if (sub === undefined && method === 'GET') return HttpResponse.json(userJson(user, asKeys) as never);
      if (sub === undefined && method === 'PATCH') {
        let body: { values?: unknown };
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return error(400, 'Malformed JSON');
        }
        if (!Array.isArray(body.values)) return error(400, 'values must be a list');
        for (const entry of body.values as { name?: unknown; values?: unknown }[]) {
          if (typeof entry?.name !== 'string' || !Array.isArray(entry.values)) return error(400, 'Malformed value');
          if (!entry.values.every((value) => typeof value === 'string')) return error(400, 'Malformed value');
        }
        for (const entry of body.values as { name: string; values: string[] }[]) {
          state.setAttribute(id, entry.name, entry.values);
        }
        return HttpResponse.json(userJson(user, asKeys) as never);
      }
      if (sub === 'memberof' && method === 'GET') {
        const groups = state.groupsOfUser(id).map((groupId) => state.groups.get(groupId) as OtdsMockGroup);
        const result = page(groups, query, maxPage, `memberof:user:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          groups: result.slice.map((group) => groupJson(group, asKeys)),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      if (sub === 'memberof' && (method === 'POST' || method === 'DELETE')) {
        const list = readStringList(text);
        if (list === undefined) return error(400, 'stringList must be a list of group ids');
        const unknown = list.find((groupId) => !state.groups.has(groupId));
        if (unknown !== undefined) return error(404, `Group ${unknown} not found`);
        for (const groupId of list) {
          if (method === 'POST') state.addMember(groupId, id);
          else state.removeMember(groupId, id);
        }
        return new HttpResponse(null, { status: 204 });
      }
      return error(405, 'Method not allowed');
    }
    if (collection === 'groups' && id !== undefined) {
      const group = state.groups.get(id);
      if (group === undefined) return error(404, `Group ${id} not found`);
      if (sub === undefined && method === 'GET') return HttpResponse.json(groupJson(group, asKeys) as never);
      if (sub === 'members' && method === 'GET') {
        const entries: ({ user: OtdsMockUser } | { group: OtdsMockGroup })[] = [
          ...[...group.members].flatMap((userId) => {
            const user = state.users.get(userId);
            return user === undefined ? [] : [{ user }];
          }),
          ...[...group.groups].flatMap((groupId) => {
            const child = state.groups.get(groupId);
            return child === undefined ? [] : [{ group: child }];
          }),
        ];
        const result = page(entries, query, maxPage, `members:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          users: result.slice.flatMap((entry) => ('user' in entry ? [userJson(entry.user, asKeys)] : [])),
          groups: result.slice.flatMap((entry) => ('group' in entry ? [groupJson(entry.group, asKeys)] : [])),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      if (sub === 'memberof' && method === 'GET') {
        const parents = state.parentsOfGroup(id).map((groupId) => state.groups.get(groupId) as OtdsMockGroup);
        const result = page(parents, query, maxPage, `memberof:group:${id}`);
        if (result === undefined) return error(400, 'Invalid next_page_cookie');
        return HttpResponse.json({
          groups: result.slice.map((parent) => groupJson(parent, asKeys)),
          nextPageCookie: result.next,
          requestedPageSize: result.requested,
          actualPageSize: result.slice.length,
        } as never);
      }
      return error(405, 'Method not allowed');
    }
    return error(404, 'Not found');
  }

  const handler = http.all(`${baseUrl}/otdsws/*`, async ({ request }) => {
    const url = new URL(request.url);
    const rawPath = url.pathname;
    const inner = rawPath.slice(basePath.length + '/otdsws'.length);
    const text = request.method === 'GET' ? '' : await request.text();
    const parts = inner.split('/').filter((part) => part !== '');
    let segments: string[];
    try {
      segments = parts.map((part) => decodeURIComponent(part));
    } catch {
      return error(400, 'Malformed path');
    }
    const recorded: OtdsRecordedRequest = {
      method: request.method,
      rawPath,
      segments: segments[0] === 'rest' ? segments.slice(1) : segments,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(request.headers),
      ...(text === '' ? {} : { body: text }),
    };
    requests.push(recorded);

    const fault = takeFault(request.method, inner);
    if (fault !== undefined) {
      if (fault.hang) {
        await delay('infinite');
      }
      if (fault.network) return HttpResponse.error();
      const headers: Record<string, string> = { ...JSON_HEADERS, ...fault.headers };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const status = fault.status ?? 503;
      return new HttpResponse(fault.body ?? JSON.stringify({ status, error: 'Injected fault' }), { status, headers });
    }

    if (inner === '/rest/authentication/credentials' && request.method === 'POST') return credentialsLogin(text);
    if (inner === '/oauth2/token' && request.method === 'POST') return tokenGrant(request, text);
    if (segments[0] !== 'rest') return error(404, 'Not found');
    if (!authorised(request)) return error(401, 'Unauthorized');
    return rest(request.method, segments.slice(1), url.searchParams, text);
  });

  return {
    handlers: [handler],
    baseUrl,
    state,
    requests,
    get ticketsIssued() {
      return ticketsIssued;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    expireTickets() {
      tickets.clear();
    },
    revokeTokens() {
      tokens.clear();
    },
    fail(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
  };
}
