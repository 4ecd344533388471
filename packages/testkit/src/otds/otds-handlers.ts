import { delay, HttpResponse, http, type RequestHandler } from 'msw';
import { createOtdsAuthority } from './otds-auth.js';
import { errorResponse, JSON_HEADERS } from './otds-json.js';
import { createOtdsRestRoutes } from './otds-rest.js';
import { createOtdsState, type OtdsMockState, type OtdsSeedGroup, type OtdsSeedUser } from './otds-state.js';

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
  const authority = createOtdsAuthority({
    credentials: options.credentials ?? [{ userName: 'otadmin@otds.admin', password: 'otds-secret' }],
    oauthClients: options.oauthClients ?? [{ clientId: 'idrelay', clientSecret: 'client-secret' }],
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    now: options.now ?? Date.now,
  });
  const rest = createOtdsRestRoutes(state, options.maxPageSize ?? 1000);
  const error = errorResponse;
  const requests: OtdsRecordedRequest[] = [];
  let faults: Pending[] = [];

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

    if (inner === '/rest/authentication/credentials' && request.method === 'POST') {
      return authority.credentialsLogin(text);
    }
    if (inner === '/oauth2/token' && request.method === 'POST') return authority.tokenGrant(request, text);
    if (segments[0] !== 'rest') return error(404, 'Not found');
    if (!authority.authorised(request)) return error(401, 'Unauthorized');
    return rest(request.method, segments.slice(1), url.searchParams, text);
  });

  return {
    handlers: [handler],
    baseUrl,
    state,
    requests,
    get ticketsIssued() {
      return authority.ticketsIssued;
    },
    get tokensIssued() {
      return authority.tokensIssued;
    },
    expireTickets: () => authority.expireTickets(),
    revokeTokens: () => authority.revokeTokens(),
    fail(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
  };
}
