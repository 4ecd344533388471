import { type OidcTestProvider, startOidcProvider } from '@idrelay/testkit/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleLogin,
  type ConsoleLoginOptions,
  type ConsoleSessionStore,
  createConsoleLogin,
  createMemoryConsoleStore,
} from '../src/index.js';
import { type Browser, createBrowser } from './browser.js';

const APP = 'https://console.example';
const REDIRECT = `${APP}/callback`;
const SECRET = 'a-cookie-secret-of-at-least-32-bytes!!';

let op: OidcTestProvider;

beforeAll(async () => {
  op = await startOidcProvider({
    accounts: { alice: { email: 'alice@example.com' }, bob: {} },
    interactions: { acr: 'urn:idrelay:loa:1', acrValues: ['urn:idrelay:loa:1', 'urn:idrelay:loa:2'] },
    requirePkce: true,
    clients: [
      {
        client_id: 'console',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        post_logout_redirect_uris: [`${APP}/bye`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
  });
});
afterAll(() => op?.close());

let offsetMs = 0;
function consoleLogin(overrides: Partial<ConsoleLoginOptions> = {}): ConsoleLogin {
  const [c] = op.clients;
  return createConsoleLogin({
    issuer: op.issuer,
    clientId: c!.clientId,
    clientSecret: c!.clientSecret,
    redirectUri: REDIRECT,
    scopes: ['openid', 'email'],
    cookieSecret: SECRET,
    postLogoutRedirectUri: `${APP}/bye`,
    allowInsecureRequests: true,
    now: () => Date.now() + offsetMs,
    ...overrides,
  });
}

/** Starts a login in `browser` and signs in at the OP as `login`; returns the callback URL the OP sent back. */
async function signIn(app: ConsoleLogin, browser: Browser, login = 'alice', extra: Record<string, string> = {}) {
  const started = await app.login(browser.request(`${APP}/login?returnTo=/alerts`));
  browser.remember(new URL(APP), started);
  return atOp(browser, started.headers.get('location') as string, login, extra);
}

/** Follows an authorization URL through the OP's login (and consent, the first time) back to the callback. */
async function atOp(browser: Browser, authorizationUrl: string, login = 'alice', extra: Record<string, string> = {}) {
  let step = await browser.follow(authorizationUrl, APP);
  for (let forms = 0; step.location === undefined && forms < 3; forms++) {
    const isLogin = /name="prompt" value="login"/.test(step.page ?? '');
    step = await browser.submit(step, isLogin ? { login, password: 'any', ...extra } : {}, APP);
  }
  if (step.location === undefined) throw new Error(`the OP did not come back: ${step.page?.slice(0, 300)}`);
  return step.location;
}

async function callback(app: ConsoleLogin, browser: Browser, location: string) {
  const response = await app.callback(browser.request(location));
  browser.remember(new URL(APP), response);
  return response;
}

/** A store that lets a test alter the next login transaction it keeps (as a thief of the store could). */
function tamperingStore(change: (tx: Record<string, unknown>) => void): ConsoleSessionStore {
  const inner = createMemoryConsoleStore();
  return {
    ...inner,
    async set(key, value, expiresAtMs) {
      const parsed = JSON.parse(value) as Record<string, unknown>;
      if ('verifier' in parsed) change(parsed);
      return inner.set(key, JSON.stringify(parsed), expiresAtMs);
    },
  };
}

describe('createConsoleLogin: the browser round trip against the loopback OP', () => {
  it('logs in with code + PKCE S256, state and nonce; the session cookie is signed, HttpOnly, Secure, Lax', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    const started = await app.login(browser.request(`${APP}/login?returnTo=/alerts`));
    expect(started.status).toBe(302);
    const authorization = new URL(started.headers.get('location') as string);
    expect(authorization.origin).toBe(op.issuer);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorization.searchParams.get('state')).toBeTruthy();
    expect(authorization.searchParams.get('nonce')).toBeTruthy();
    expect(started.headers.get('set-cookie')).toMatch(/HttpOnly; Secure; SameSite=Lax/);
    browser.remember(new URL(APP), started);

    const location = await atOp(browser, authorization.href);
    expect(new URL(location).searchParams.get('code')).toBeTruthy();
    const done = await callback(app, browser, location);
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/alerts');
    const setCookie = done.headers.getSetCookie();
    expect(setCookie.find((c) => c.startsWith('__Host-idrelay-console='))).toMatch(
      /; Max-Age=28800; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );

    const session = await app.session(browser.request(`${APP}/alerts`));
    expect(session).toMatchObject({
      subject: 'alice',
      acr: 'urn:idrelay:loa:1',
      amr: ['pwd'],
      claims: { iss: op.issuer, aud: 'console', sub: 'alice' },
    });
    expect(session?.idToken.split('.')).toHaveLength(3);
    expect(Math.abs((session?.authTime ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });

  it('refuses an open redirect in returnTo, and a forged or altered session cookie', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    const started = await app.login(browser.request(`${APP}/login?returnTo=//evil.example/x`));
    browser.remember(new URL(APP), started);
    const done = await callback(app, browser, await atOp(browser, started.headers.get('location') as string));
    expect(done.headers.get('location')).toBe('/');
    const cookie = browser.cookieHeader(new URL(APP));
    expect(await app.session(new Request(APP, { headers: { cookie } }))).toBeDefined();
    const altered = cookie.replace(/__Host-idrelay-console=([^.;]+)\.([^;]+)/, (_m, id: string, mac: string) => {
      return `__Host-idrelay-console=${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}.${mac}`;
    });
    expect(await app.session(new Request(APP, { headers: { cookie: altered } }))).toBeUndefined();
    // A console keyed with another secret does not accept the cookie either.
    const other = consoleLogin({ cookieSecret: 'another-secret-that-is-32-bytes-long!!' });
    expect(await other.session(new Request(APP, { headers: { cookie } }))).toBeUndefined();
  });

  it('refuses a callback whose state was tampered with', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    const location = new URL(await signIn(app, browser));
    location.searchParams.set('state', 'attacker-state');
    await expect(callback(app, browser, location.href)).rejects.toMatchObject({
      code: 'ERR_OIDC_LOGIN_FAILED',
      details: { reason: 'state' },
    });
    expect(await app.session(browser.request(APP))).toBeUndefined();
  });

  it('refuses a callback without the login cookie (login CSRF), and a replayed callback', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    const location = await signIn(app, browser);
    await expect(app.callback(new Request(location))).rejects.toMatchObject({
      code: 'ERR_OIDC_LOGIN_FAILED',
      details: { reason: 'transaction' },
    });
    // That refusal did not use the transaction up; the real browser completes, and then cannot replay.
    const replay = browser.request(location);
    expect((await callback(app, browser, location)).status).toBe(303);
    await expect(app.callback(replay)).rejects.toMatchObject({ details: { reason: 'transaction' } });
  });

  it('refuses a replayed code at the OP even when presented with a matching transaction', async () => {
    const first = createBrowser();
    let copy: Record<string, unknown> | undefined;
    let saved: Record<string, unknown> | undefined;
    // The second transaction is given the first one's state, nonce and verifier, so only the OP can notice.
    const app = consoleLogin({
      store: tamperingStore((tx) => {
        if (saved === undefined) saved = { ...tx };
        else copy = Object.assign(tx, saved);
      }),
    });
    const location = await signIn(app, first);
    expect((await callback(app, first, location)).status).toBe(303);
    const second = createBrowser();
    const started = await app.login(second.request(`${APP}/login`));
    second.remember(new URL(APP), started);
    expect(copy).toBeDefined();
    await expect(callback(app, second, location)).rejects.toMatchObject({
      code: 'ERR_OIDC_LOGIN_FAILED',
      details: { reason: 'grant', error: 'invalid_grant' },
    });
  });

  it('refuses an ID token whose nonce is not the transaction’s', async () => {
    const app = consoleLogin({ store: tamperingStore((tx) => Object.assign(tx, { nonce: 'another-nonce' })) });
    const browser = createBrowser();
    const started = await app.login(browser.request(`${APP}/login`));
    browser.remember(new URL(APP), started);
    // The OP was sent the real nonce (taken from the URL); the transaction now expects another one.
    const location = await atOp(browser, started.headers.get('location') as string);
    await expect(callback(app, browser, location)).rejects.toMatchObject({
      code: 'ERR_OIDC_LOGIN_FAILED',
      details: { reason: 'nonce' },
    });
  });

  it('refuses a code redeemed with the wrong PKCE verifier, and the OP refuses a login without PKCE', async () => {
    const app = consoleLogin({
      store: tamperingStore((tx) => Object.assign(tx, { verifier: 'x'.repeat(43) })),
    });
    const browser = createBrowser();
    const location = await signIn(app, browser);
    await expect(callback(app, browser, location)).rejects.toMatchObject({
      details: { reason: 'grant', error: 'invalid_grant' },
    });

    // Stripping code_challenge from the authorization request (a downgrade) is refused by the OP, and the
    // error that comes back to the callback is reported as such.
    const honest = consoleLogin();
    const other = createBrowser();
    const started = await honest.login(other.request(`${APP}/login`));
    other.remember(new URL(APP), started);
    const url = new URL(started.headers.get('location') as string);
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const back = await other.follow(url.href, APP);
    expect(new URL(back.location as string).searchParams.get('error')).toBe('invalid_request');
    await expect(callback(honest, other, back.location as string)).rejects.toMatchObject({
      details: { reason: 'denied', error: 'invalid_request' },
    });
  });

  it('checks the ID token signature from the token endpoint (kept as evidence)', async () => {
    const forging: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!new URL(input instanceof Request ? input.url : input).pathname.endsWith('/token')) return response;
      const body = (await response.json()) as { id_token: string };
      const [header, payload, signature = ''] = body.id_token.split('.');
      const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
      return Response.json({ ...body, id_token: `${header}.${payload}.${flipped}` }, { status: response.status });
    };
    const app = consoleLogin({ fetch: forging });
    const browser = createBrowser();
    const location = await signIn(app, browser);
    await expect(callback(app, browser, location)).rejects.toMatchObject({
      code: 'ERR_OIDC_LOGIN_FAILED',
      details: { reason: 'id-token' },
    });
  });

  it('steps up: an old authentication is sent back to the OP with max_age and prompt=login', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    await callback(app, browser, await signIn(app, browser));
    const session = await app.session(browser.request(APP));
    expect(await app.requireStepUp(session!, { maxAgeSec: 300 })).toBeUndefined();

    offsetMs = 10 * 60_000; // ten minutes on the console's clock
    try {
      const stepUp = await app.requireStepUp(session!, { maxAgeSec: 300, returnTo: '/keys' });
      expect(stepUp?.status).toBe(302);
      const url = new URL(stepUp?.headers.get('location') as string);
      expect(url.searchParams.get('max_age')).toBe('300');
      expect(url.searchParams.get('prompt')).toBe('login');
      browser.remember(new URL(APP), stepUp!);
      offsetMs = 0; // the user signs in again now
      const done = await callback(app, browser, await atOp(browser, url.href));
      expect(done.headers.get('location')).toBe('/keys');
      const fresh = await app.session(browser.request(APP));
      expect(fresh!.authTime).toBeGreaterThanOrEqual(session!.authTime);
      offsetMs = 10 * 60_000;
      // Freshness is judged against the new auth_time, as the console's clock moved on by the same ten minutes.
      expect(await app.requireStepUp(fresh!, { maxAgeSec: 300 })).toBeDefined();
    } finally {
      offsetMs = 0;
    }
  });

  it('steps up to a stronger acr; refuses a step-up that comes back weaker or as another user', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    await callback(app, browser, await signIn(app, browser));
    const session = (await app.session(browser.request(APP)))!;
    const acr = 'urn:idrelay:loa:2';

    const weak = await app.requireStepUp(session, { acr });
    const weakUrl = new URL(weak?.headers.get('location') as string);
    expect(weakUrl.searchParams.get('acr_values')).toBe(acr);
    browser.remember(new URL(APP), weak!);
    await expect(callback(app, browser, await atOp(browser, weakUrl.href))).rejects.toMatchObject({
      details: { reason: 'step-up' },
    });

    const asBob = await app.requireStepUp(session, { acr });
    browser.remember(new URL(APP), asBob!);
    const bobBack = await atOp(browser, asBob?.headers.get('location') as string, 'bob', { acr });
    await expect(callback(app, browser, bobBack)).rejects.toMatchObject({ details: { reason: 'subject' } });

    const strong = await app.requireStepUp(session, { acr, returnTo: '/keys' });
    browser.remember(new URL(APP), strong!);
    const back = await atOp(browser, strong?.headers.get('location') as string, 'alice', { acr });
    expect((await callback(app, browser, back)).status).toBe(303);
    const stepped = (await app.session(browser.request(APP)))!;
    expect(stepped).toMatchObject({ subject: 'alice', acr });
    expect(await app.requireStepUp(stepped, { acr: [acr] })).toBeUndefined();
  });

  it('logs out with POST only: the session ends and the browser goes to the OP’s end-session endpoint', async () => {
    const app = consoleLogin();
    const browser = createBrowser();
    await callback(app, browser, await signIn(app, browser));
    const cookie = browser.cookieHeader(new URL(APP));
    expect((await app.logout(browser.request(`${APP}/logout`))).status).toBe(405);
    const out = await app.logout(browser.request(`${APP}/logout`, { method: 'POST' }));
    expect(out.status).toBe(303);
    const url = new URL(out.headers.get('location') as string);
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/bye`);
    expect(url.searchParams.get('id_token_hint')).toBeTruthy();
    expect(out.headers.get('set-cookie')).toMatch(/^__Host-idrelay-console=; Max-Age=0/);
    // The old cookie is worth nothing now, even if kept.
    expect(await app.session(new Request(APP, { headers: { cookie } }))).toBeUndefined();
  });

  it('refuses unusable options at creation', () => {
    expect(() => consoleLogin({ cookieSecret: 'short' })).toThrow(TypeError);
    expect(() => consoleLogin({ scopes: ['email'] })).toThrow(TypeError);
  });
});
