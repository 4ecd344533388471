import { randomBytes } from 'node:crypto';
import { HttpResponse } from 'msw';
import { errorResponse } from './otds-json.js';

/** Who the in-memory OTDS lets in. */
export interface OtdsAuthorityOptions {
  credentials: readonly { userName: string; password: string }[];
  oauthClients: readonly { clientId: string; clientSecret: string }[];
  tokenTtlSeconds: number;
  now: () => number;
}

/** Tickets and tokens of the in-memory OTDS: issued by its two login endpoints, checked on every REST request. */
export interface OtdsAuthority {
  /** `POST /otdsws/rest/authentication/credentials`. */
  credentialsLogin(text: string): Promise<Response> | Response;
  /** `POST /otdsws/oauth2/token`, client credentials only. */
  tokenGrant(request: Request, text: string): Response;
  /** True when the request carries a live `OTDSTicket` or `Authorization: Bearer`. */
  authorised(request: Request): boolean;
  expireTickets(): void;
  revokeTokens(): void;
  readonly ticketsIssued: number;
  readonly tokensIssued: number;
}

/** Creates the authority. */
export function createOtdsAuthority(options: OtdsAuthorityOptions): OtdsAuthority {
  const { credentials, now } = options;
  const clients = options.oauthClients;
  const ttl = options.tokenTtlSeconds;
  const tickets = new Set<string>();
  const tokens = new Map<string, number>();
  let ticketsIssued = 0;
  let tokensIssued = 0;
  const error = errorResponse;

  function authorised(request: Request): boolean {
    const ticket = request.headers.get('otdsticket');
    if (ticket !== null) return tickets.has(ticket);
    const authorization = request.headers.get('authorization') ?? '';
    const match = /^Bearer (.+)$/.exec(authorization);
    if (match === null) return false;
    const expiresAt = tokens.get(match[1] ?? '');
    return expiresAt !== undefined && now() < expiresAt;
  }

  function credentialsLogin(text: string) {
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

  return {
    credentialsLogin,
    tokenGrant,
    authorised,
    expireTickets: () => tickets.clear(),
    revokeTokens: () => tokens.clear(),
    get ticketsIssued() {
      return ticketsIssued;
    },
    get tokensIssued() {
      return tokensIssued;
    },
  };
}
