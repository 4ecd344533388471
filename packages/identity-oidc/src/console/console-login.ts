import { randomBytes } from 'node:crypto';
import { IdrelayError } from '@idrelay/core';
import * as client from 'openid-client';
import { LOGIN_ERRORS, type LoginFailureReason } from './login-errors.js';
import { type ConsoleSessionStore, createMemoryConsoleStore } from './session-store.js';
import { createSignedCookies } from './signed-cookie.js';

void LOGIN_ERRORS; // registers ERR_OIDC_LOGIN_FAILED

/** Options of {@link createConsoleLogin}. */
export interface ConsoleLoginOptions {
  /** The OpenID Provider's issuer; its metadata comes from discovery on first use (retried after a failure). */
  issuer: string | URL;
  clientId: string;
  /** A confidential client's secret (`client_secret_basic`); without it the client is public (PKCE only). */
  clientSecret?: string;
  /** The callback URL registered at the OP; `callback(request)` is mounted there. */
  redirectUri: string;
  /** Scopes asked for; default `['openid']`. Must include `openid`. */
  scopes?: readonly string[];
  /** HMAC-SHA256 key of the cookies, at least 32 bytes; rotate it to end every session. */
  cookieSecret: string | Uint8Array;
  /** Server-side state; default {@link createMemoryConsoleStore} (one process). */
  store?: ConsoleSessionStore;
  /** Session cookie name; default `__Host-idrelay-console` (the login transaction uses `<name>-login`). */
  cookieName?: string;
  /** Session lifetime, seconds; default 28 800 (8 h). */
  sessionTtlSeconds?: number;
  /** How long a started login may take at the OP, seconds; default 600. */
  loginTtlSeconds?: number;
  /** Where the OP sends the browser after `logout` (registered at the OP); default none. */
  postLogoutRedirectUri?: string;
  /** `fetch` for discovery, keys and the token endpoint; default the global one. */
  fetch?: typeof fetch;
  /** Allows an `http:` issuer — for a loopback OP in tests only. */
  allowInsecureRequests?: boolean;
  /** Clock in ms, for session expiry and step-up age; default `Date.now`. */
  now?: () => number;
}

/** A signed-in console user. */
export interface ConsoleSession {
  /** `sub` of the ID token. */
  subject: string;
  /** When the user last authenticated at the OP (`auth_time`, seconds), else when the session began. */
  authTime: number;
  /** Authentication context class (`acr`) and methods (`amr`) the OP reported. */
  acr: string | undefined;
  amr: readonly string[];
  /** The ID token, its signature verified against the OP's keys: evidence of who signed in, and `id_token_hint`. */
  idToken: string;
  /** Every claim of the ID token. */
  claims: Readonly<Record<string, unknown>>;
  /** Session end, ms. */
  expiresAt: number;
}

/** What {@link ConsoleLogin.requireStepUp} asks of a session. */
export interface StepUpRequirement {
  /** Most seconds since the user authenticated (`max_age`, OIDC Core §3.1.2.1). */
  maxAgeSec?: number;
  /** Acceptable `acr` values, best first (`acr_values`). */
  acr?: string | readonly string[];
  /** Path to come back to after the fresh login; default `/`. */
  returnTo?: string;
}

/** The console's login endpoints; see {@link createConsoleLogin}. */
export interface ConsoleLogin {
  /** `GET /login?returnTo=/path`: 302 to the OP with PKCE (S256), `state` and `nonce`. */
  login(request: Request): Promise<Response>;
  /** `GET <redirectUri>`: checks the answer, sets the session cookie, 303 to `returnTo`. */
  callback(request: Request): Promise<Response>;
  /** `POST /logout`: ends the session, clears the cookie, 303 to the OP's end-session endpoint or `/`. */
  logout(request: Request): Promise<Response>;
  /** The request's session, or `undefined` (no cookie, forged, expired, logged out). */
  session(request: Request): Promise<ConsoleSession | undefined>;
  /**
   * `undefined` when the session satisfies `requirement`, else a 302 to the OP for a fresh authentication
   * (`prompt=login`, `max_age`, `acr_values`) whose callback must return the same user with the `acr` asked for.
   */
  requireStepUp(session: ConsoleSession, requirement: StepUpRequirement): Promise<Response | undefined>;
}

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  maxAge?: number;
  acr?: string[];
  subject?: string;
}

const SAFE_PATH = /^\/(?![/\\])[^\s]*$/;

/**
 * Creates console login with the authorization code flow and PKCE (RFC 7636, S256), `state` and `nonce` checks,
 * ID tokens verified by signature even from the token endpoint (they are kept as evidence), server-side sessions
 * behind an HMAC-signed `HttpOnly; Secure; SameSite=Lax` cookie, and step-up (`max_age`, `acr_values`) for
 * sensitive actions. The handlers are web-standard `(Request) => Promise<Response>`.
 *
 * @throws {IdrelayError} from `callback`: `ERR_OIDC_LOGIN_FAILED` (`details.reason`), `ERR_OIDC_UNAVAILABLE`
 * (discovery or the token endpoint unreachable). `TypeError` at creation for unusable options.
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth, https://www.rfc-editor.org/rfc/rfc9700
 * @example
 * ```ts
 * const console = createConsoleLogin({ issuer, clientId: 'console', clientSecret, redirectUri, cookieSecret });
 * // GET /login → console.login(req); GET /callback → console.callback(req); POST /logout → console.logout(req)
 * const session = await console.session(req);
 * const stepUp = session && (await console.requireStepUp(session, { maxAgeSec: 300, returnTo: '/keys' }));
 * if (stepUp) return stepUp; // off to the OP for a fresh login
 * ```
 */
export function createConsoleLogin(options: ConsoleLoginOptions): ConsoleLogin {
  const scopes = [...(options.scopes ?? ['openid'])];
  if (!scopes.includes('openid')) throw new TypeError('scopes must include openid');
  const redirectUri = new URL(options.redirectUri);
  const cookies = createSignedCookies(options.cookieSecret);
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemoryConsoleStore({ now });
  const sessionCookie = options.cookieName ?? '__Host-idrelay-console';
  const loginCookie = `${sessionCookie}-login`;
  const sessionTtl = options.sessionTtlSeconds ?? 28_800;
  const loginTtl = options.loginTtlSeconds ?? 600;
  const issuer = new URL(options.issuer);

  let setup: Promise<client.Configuration> | undefined;
  const discover = () => {
    setup ??= discoverClient(issuer, options).catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    return setup;
  };

  async function start(returnTo: string, stepUp?: Pick<Transaction, 'maxAge' | 'acr' | 'subject'>) {
    const config = await discover();
    const tx: Transaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      returnTo: SAFE_PATH.test(returnTo) ? returnTo : '/',
      ...stepUp,
    };
    const id = randomId();
    await store.set(`login:${id}`, JSON.stringify(tx), now() + loginTtl * 1000);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri.href,
      scope: scopes.join(' '),
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(tx.verifier),
      code_challenge_method: 'S256',
      ...(stepUp ? { prompt: 'login' } : {}),
      ...(tx.maxAge === undefined ? {} : { max_age: String(tx.maxAge) }),
      ...(tx.acr ? { acr_values: tx.acr.join(' ') } : {}),
    });
    return redirect(302, url.href, [cookies.serialize(loginCookie, id, loginTtl)]);
  }

  async function readSession(request: Request): Promise<(ConsoleSession & { id: string }) | undefined> {
    const id = cookies.read(request, sessionCookie);
    const raw = id === undefined ? undefined : await store.get(`session:${id}`);
    if (id === undefined || raw === undefined) return undefined;
    const session = JSON.parse(raw) as ConsoleSession;
    return session.expiresAt > now() ? { ...session, id } : undefined;
  }

  return {
    async login(request) {
      return start(new URL(request.url).searchParams.get('returnTo') ?? '/');
    },

    async callback(request) {
      const txId = cookies.read(request, loginCookie);
      const raw = txId === undefined ? undefined : await store.take(`login:${txId}`);
      if (raw === undefined) {
        throw failure('transaction', 'No pending login for this browser (expired, already used, or forged)');
      }
      const tx = JSON.parse(raw) as Transaction;
      const config = await discover();
      // The redirect URI as registered, with the callback's query: a proxy in front must not change what the
      // token endpoint is told (RFC 6749 §4.1.3).
      const current = new URL(redirectUri);
      current.search = new URL(request.url).search;
      let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
      try {
        tokens = await client.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: tx.verifier,
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          idTokenExpected: true,
          ...(tx.maxAge === undefined ? {} : { maxAge: tx.maxAge }),
        });
      } catch (error) {
        throw grantFailure(error);
      }
      const claims = tokens.claims() as Record<string, unknown>;
      const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
      if (tx.acr && !(acr && tx.acr.includes(acr))) {
        throw failure('step-up', `The login came back with acr ${String(acr)}, not one of ${tx.acr.join(', ')}`);
      }
      if (tx.subject !== undefined && claims.sub !== tx.subject) {
        throw failure('subject', 'The step-up login came back for another user');
      }
      const previous = cookies.read(request, sessionCookie);
      if (previous !== undefined) await store.delete(`session:${previous}`);
      const at = now();
      const session: ConsoleSession = {
        subject: String(claims.sub),
        authTime: typeof claims.auth_time === 'number' ? claims.auth_time : Math.floor(at / 1000),
        acr,
        amr: Array.isArray(claims.amr) ? claims.amr.map(String) : [],
        idToken: tokens.id_token as string,
        claims,
        expiresAt: at + sessionTtl * 1000,
      };
      // A fresh id on every login, so a session id planted before login is worth nothing (session fixation).
      const id = randomId();
      await store.set(`session:${id}`, JSON.stringify(session), session.expiresAt);
      return redirect(303, tx.returnTo, [cookies.serialize(sessionCookie, id, sessionTtl), cookies.clear(loginCookie)]);
    },

    async logout(request) {
      if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
      const session = await readSession(request);
      const clear = [cookies.clear(sessionCookie)];
      if (!session) return redirect(303, '/', clear);
      await store.delete(`session:${session.id}`);
      const config = await discover().catch(() => undefined);
      if (!config?.serverMetadata().end_session_endpoint || options.postLogoutRedirectUri === undefined) {
        return redirect(303, '/', clear);
      }
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: session.idToken,
        post_logout_redirect_uri: options.postLogoutRedirectUri,
      });
      return redirect(303, url.href, clear);
    },

    async session(request) {
      const found = await readSession(request);
      if (!found) return undefined;
      const { id: _id, ...session } = found;
      return session;
    },

    async requireStepUp(session, requirement) {
      const acr = requirement.acr === undefined ? undefined : [requirement.acr].flat();
      const maxAge = requirement.maxAgeSec;
      if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 0)) {
        throw new TypeError(`maxAgeSec must be a whole number of seconds, got ${maxAge}`);
      }
      const fresh = maxAge === undefined || now() - session.authTime * 1000 <= maxAge * 1000;
      const strong = acr === undefined || (session.acr !== undefined && acr.includes(session.acr));
      if (fresh && strong) return undefined;
      return start(requirement.returnTo ?? '/', {
        subject: session.subject,
        ...(maxAge === undefined ? {} : { maxAge }),
        ...(acr === undefined ? {} : { acr }),
      });
    },
  };
}

async function discoverClient(issuer: URL, options: ConsoleLoginOptions): Promise<client.Configuration> {
  let config: client.Configuration;
  try {
    config = await client.discovery(
      issuer,
      options.clientId,
      { redirect_uris: [options.redirectUri], response_types: ['code'] },
      options.clientSecret === undefined ? client.None() : client.ClientSecretBasic(options.clientSecret),
      {
        ...(options.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
        ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
      },
    );
  } catch (error) {
    throw new IdrelayError('ERR_OIDC_UNAVAILABLE', `OpenID discovery of ${issuer.href} failed`, { cause: error });
  }
  // openid-client trusts ID tokens from the token endpoint on TLS alone; we keep them as evidence, so their
  // signatures are checked against the OP's JWKS as well.
  client.enableNonRepudiationChecks(config);
  return config;
}

/** Maps openid-client's errors from the callback to a reason (or to ERR_OIDC_UNAVAILABLE when the OP is down). */
function grantFailure(error: unknown): IdrelayError {
  if (error instanceof client.AuthorizationResponseError) {
    return failure('denied', `The OP refused the login: ${error.error}`, error, { error: error.error });
  }
  if (error instanceof client.ResponseBodyError) {
    if (error.status >= 500)
      return new IdrelayError('ERR_OIDC_UNAVAILABLE', 'The token endpoint failed', { cause: error });
    return failure('grant', `The token endpoint refused the code: ${error.error}`, error, { error: error.error });
  }
  const { code } = error as { code?: string };
  const name = checkThatFailed(error);
  if (name !== undefined) return failure(name, `The ${name} does not match this login`, error);
  if (code === undefined || error instanceof TypeError) {
    return new IdrelayError('ERR_OIDC_UNAVAILABLE', 'The token endpoint could not be reached', { cause: error });
  }
  return failure('id-token', `The ID token was refused: ${(error as Error).message}`, error);
}

/**
 * `state` or `nonce` when that comparison failed: openid-client wraps oauth4webapi's error, which names the
 * parameter in its message (`unexpected "state" response parameter value`) or in `cause.claim`.
 */
function checkThatFailed(error: unknown): 'state' | 'nonce' | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const claim = (e.cause as { claim?: unknown } | undefined)?.claim;
    if (claim === 'nonce' || claim === 'state') return claim;
    const named = /"(state|nonce)"/.exec(e.message)?.[1];
    if (named === 'state' || named === 'nonce') return named;
  }
  return undefined;
}

function failure(
  reason: LoginFailureReason,
  message: string,
  cause?: unknown,
  extra: Record<string, unknown> = {},
): IdrelayError {
  return new IdrelayError('ERR_OIDC_LOGIN_FAILED', message, { cause, details: { reason, ...extra } });
}

function redirect(status: 302 | 303, location: string, setCookies: string[]): Response {
  const headers = new Headers({ location, 'cache-control': 'no-store' });
  for (const cookie of setCookies) headers.append('set-cookie', cookie);
  return new Response(null, { status, headers });
}

const randomId = () => randomBytes(24).toString('base64url');
