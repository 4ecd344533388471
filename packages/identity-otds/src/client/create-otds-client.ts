import {
  type BackoffPolicy,
  type Clock,
  IdrelayError,
  type Logger,
  silentLogger,
  systemClock,
  type Timers,
} from '@idrelay/core';
import '../errors.js';
import { type Authenticator, createAuthenticator, type OtdsAuth } from './auth.js';
import { checkAuth, checkBaseUrl, checkId, checkValues, nonNegativeInteger, positiveInteger } from './check-options.js';
import { type HttpRequest, type HttpResponse, type HttpSettings, send, statusError } from './http.js';
import type { OtdsAttributeValues, OtdsGroup, OtdsMembers, OtdsPage, OtdsUser } from './otds-types.js';
import { parseGroup, parseGroupPage, parseMemberPage, parseUser, parseUserPage } from './parse-response.js';

/** Options of {@link createOtdsClient}. */
export interface OtdsClientOptions {
  /**
   * The OTDS server, e.g. `https://otds.example.com` or, multi-tenant, `https://otds.example.com/otdstenant/acme`.
   * `https:` only, unless the host is loopback or `allowInsecureHttp` is set.
   */
  baseUrl: string;
  auth: OtdsAuth;
  /** Allow `http:` to a host other than loopback (a lab behind a TLS-terminating proxy). Default false. */
  allowInsecureHttp?: boolean;
  /** Entries per page of listings (`page_size`). Default 250, OTDS's own default. */
  pageSize?: number;
  /** Per attempt, ms. Default 10,000. */
  timeoutMs?: number;
  /** Retries after the first attempt for 429, 5xx, timeouts and network failures. Default 3. */
  retries?: number;
  /** Backoff between retries. Default `{ baseDelayMs: 250, maxDelayMs: 5000 }`. */
  backoff?: BackoffPolicy;
  /** The longest `Retry-After` honoured; a longer one fails at once. Default 60,000 ms. */
  maxRetryAfterMs?: number;
  /** Largest response body read. Default 16 MiB. */
  maxResponseBytes?: number;
  /** `fetch` to use; default the global one. */
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  /** Timers for backoff waits and timeouts; tests inject their own. */
  timers?: Timers;
  /** Randomness for backoff jitter, in [0, 1). */
  random?: () => number;
  logger?: Logger;
}

/** Per-call options. */
export interface OtdsCallOptions {
  signal?: AbortSignal;
}

/** Options of listings. */
export interface OtdsListOptions extends OtdsCallOptions {
  /** Entries per page, overriding the client's `pageSize`. */
  pageSize?: number;
  /** OTDS `where_filter`: a server-side filter whose matching rules OTDS does not document; treat results as candidates. */
  filter?: string;
  /** OTDS `where_partition_name`: only this partition. */
  partition?: string;
}

/**
 * A typed client for the OTDS REST API (`/otdsws/rest`). Listings are async iterables that fetch one page at a
 * time, following `nextPageCookie`; ids are URL-encoded as one path segment, so an id with `/`, `?`, `#` or `..`
 * cannot reach another resource.
 */
export interface OtdsClient {
  /** The OTDS base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** The user with id `id`, or `undefined` when OTDS answers 404. */
  getUser(id: string, options?: OtdsCallOptions): Promise<OtdsUser | undefined>;
  /** The group with id `id`, or `undefined` when OTDS answers 404. */
  getGroup(id: string, options?: OtdsCallOptions): Promise<OtdsGroup | undefined>;
  /** Every user, page by page. */
  users(options?: OtdsListOptions): AsyncIterable<OtdsUser>;
  /** Every group, page by page. */
  groups(options?: OtdsListOptions): AsyncIterable<OtdsGroup>;
  /** The direct members of a group, one entry per page (users and nested groups). Throws `ERR_OTDS_NOT_FOUND`. */
  groupMembers(groupId: string, options?: OtdsListOptions): AsyncIterable<OtdsMembers>;
  /** The groups a user is directly in (`GET /users/{id}/memberof`). Throws `ERR_OTDS_NOT_FOUND`. */
  userMemberOf(userId: string, options?: OtdsListOptions): AsyncIterable<OtdsGroup>;
  /** The groups a group is directly in (`GET /groups/{id}/memberof`). Throws `ERR_OTDS_NOT_FOUND`. */
  groupMemberOf(groupId: string, options?: OtdsListOptions): AsyncIterable<OtdsGroup>;
  /** Replaces attributes of a user (`PATCH /users/{id}` with `{ userPartitionID, values }`). */
  patchUser(id: string, values: OtdsAttributeValues, options?: OtdsCallOptions & { partition?: string }): Promise<void>;
  /** Adds a user to groups (`POST /users/{id}/memberof` with `{ stringList }`). */
  addUserToGroups(userId: string, groupIds: readonly string[], options?: OtdsCallOptions): Promise<void>;
  /** Removes a user from groups (`DELETE /users/{id}/memberof` with `{ stringList }`). */
  removeUserFromGroups(userId: string, groupIds: readonly string[], options?: OtdsCallOptions): Promise<void>;
  /** Tickets or tokens obtained so far. */
  readonly authentications: number;
}

/**
 * Creates an OTDS REST client.
 *
 * @throws IdrelayError `ERR_INVALID_ARGUMENT` for a base URL that is not https (outside loopback), or bad options.
 * @see https://github.com/opentext/pyxecm (OpenText's client, the endpoints' only public description)
 * @example
 * ```ts
 * const otds = createOtdsClient({
 *   baseUrl: 'https://otds.example.com',
 *   auth: { kind: 'oauth', clientId: 'idrelay', clientSecret: process.env.OTDS_SECRET! },
 * });
 * for await (const user of otds.users({ partition: 'Content Server Members' })) console.log(user.id);
 * ```
 */
export function createOtdsClient(options: OtdsClientOptions): OtdsClient {
  const baseUrl = checkBaseUrl(options.baseUrl, options.allowInsecureHttp === true);
  checkAuth(options.auth);
  const pageSize = positiveInteger(options.pageSize ?? 250, 'pageSize', 10_000);
  const settings: HttpSettings = {
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timeoutMs: positiveInteger(options.timeoutMs ?? 10_000, 'timeoutMs', 600_000),
    retries: nonNegativeInteger(options.retries ?? 3, 'retries'),
    backoff: options.backoff ?? { baseDelayMs: 250, maxDelayMs: 5000 },
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    maxResponseBytes: positiveInteger(options.maxResponseBytes ?? 16 << 20, 'maxResponseBytes', 1 << 30),
    timers: options.timers ?? {
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    },
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentLogger,
  };
  const authenticator: Authenticator = createAuthenticator(options.auth, baseUrl, settings);
  const rest = `${baseUrl}/otdsws/rest`;

  function url(segments: readonly string[], query?: Record<string, string | undefined>): URL {
    const target = new URL(`${rest}/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`);
    for (const [key, value] of Object.entries(query ?? {}))
      if (value !== undefined) target.searchParams.set(key, value);
    return target;
  }

  /** Sends with authentication; on 401 renews the ticket or token once and repeats the request. */
  async function call(request: Omit<HttpRequest, 'headers'>): Promise<HttpResponse> {
    for (let renewed = false; ; renewed = true) {
      const header = await authenticator.header(request.signal);
      const response = await send(settings, { ...request, headers: { [header.name]: header.value } });
      if (response.status !== 401 || renewed) return response;
      settings.logger.info({ path: request.url.pathname }, 'otds: 401, renewing the ticket or token');
      authenticator.invalidate(header.value);
    }
  }

  async function expect2xx(request: Omit<HttpRequest, 'headers'>, what: string): Promise<unknown> {
    const response = await call(request);
    if (response.status >= 200 && response.status < 300) return response.body;
    throw statusError(response, what);
  }

  async function getOne<T>(segments: string[], parse: (body: unknown) => T, options?: OtdsCallOptions) {
    const response = await call({
      method: 'GET',
      url: url(segments, { attrsAsKeys: 'true' }),
      signal: options?.signal,
    });
    if (response.status === 404) return undefined;
    if (response.status >= 200 && response.status < 300) return parse(response.body);
    throw statusError(response, `${segments[0]} ${segments[1]}`);
  }

  async function* paged<T>(
    segments: string[],
    parse: (body: unknown) => OtdsPage<T>,
    list: OtdsListOptions | undefined,
  ): AsyncGenerator<T> {
    const size = list?.pageSize === undefined ? pageSize : positiveInteger(list.pageSize, 'pageSize', 10_000);
    const seen = new Set<string>();
    let cookie: string | undefined;
    do {
      const target = url(segments, {
        attrsAsKeys: 'true',
        page_size: String(size),
        where_filter: list?.filter,
        where_partition_name: list?.partition,
        next_page_cookie: cookie,
      });
      const page = parse(await expect2xx({ method: 'GET', url: target, signal: list?.signal }, segments.join(' ')));
      yield* page.items;
      cookie = page.nextPageCookie;
      // A server that hands back a cookie it already gave would make this loop forever.
      if (cookie !== undefined) {
        if (seen.has(cookie)) {
          throw new IdrelayError(
            'ERR_OTDS_RESPONSE_INVALID',
            'OTDS repeated a nextPageCookie; the listing would loop',
            {
              details: { path: target.pathname },
            },
          );
        }
        seen.add(cookie);
      }
    } while (cookie !== undefined);
  }

  return {
    baseUrl,
    get authentications() {
      return authenticator.issued;
    },
    getUser: (id, call) => getOne(['users', checkId(id, 'user id')], parseUser, call),
    getGroup: (id, call) => getOne(['groups', checkId(id, 'group id')], parseGroup, call),
    users: (list) => paged(['users'], parseUserPage, list),
    groups: (list) => paged(['groups'], parseGroupPage, list),
    groupMembers: (id, list) => paged(['groups', checkId(id, 'group id'), 'members'], parseMemberPage, list),
    userMemberOf: (id, list) => paged(['users', checkId(id, 'user id'), 'memberof'], parseGroupPage, list),
    groupMemberOf: (id, list) => paged(['groups', checkId(id, 'group id'), 'memberof'], parseGroupPage, list),
    async patchUser(id, values, patch) {
      checkId(id, 'user id');
      const list = checkValues(values);
      const body = { ...(patch?.partition === undefined ? {} : { userPartitionID: patch.partition }), values: list };
      await expect2xx({ method: 'PATCH', url: url(['users', id]), json: body, signal: patch?.signal }, `user ${id}`);
    },
    async addUserToGroups(userId, groupIds, call) {
      checkId(userId, 'user id');
      const stringList = groupIds.map((group) => checkId(group, 'group id'));
      if (stringList.length === 0) return;
      const request = { method: 'POST' as const, url: url(['users', userId, 'memberof']), json: { stringList } };
      await expect2xx({ ...request, signal: call?.signal }, `memberships of user ${userId}`);
    },
    async removeUserFromGroups(userId, groupIds, call) {
      checkId(userId, 'user id');
      const stringList = groupIds.map((group) => checkId(group, 'group id'));
      if (stringList.length === 0) return;
      const request = { method: 'DELETE' as const, url: url(['users', userId, 'memberof']), json: { stringList } };
      await expect2xx({ ...request, signal: call?.signal }, `memberships of user ${userId}`);
    },
  };
}
