import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { createOtdsClient } from '../src/index.js';
import { clientFor, collect, instantTimers, OAUTH_AUTH, useOtds } from './setup.js';

const users = Array.from({ length: 7 }, (_, index) => ({
  id: `user${index}@Users`,
  attributes: { mail: `user${index}@example.com`, department: index % 2 === 0 ? 'it' : 'hr' },
}));

describe('OTDS client', () => {
  it('logs in with credentials, sends the ticket as OTDSTicket and follows nextPageCookie', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { pageSize: 3 });
    const listed = await collect(client.users());
    expect(listed.map((user) => user.id)).toEqual(users.map((user) => user.id));
    expect(listed[0]?.attributes.mail).toEqual(['user0@example.com']);
    const pages = otds.requests.filter((request) => request.segments.join('/') === 'users');
    expect(pages.map((request) => request.query.page_size)).toEqual(['3', '3', '3']);
    expect(pages[0]?.query.next_page_cookie).toBeUndefined();
    expect(pages[1]?.query.next_page_cookie).toBeTypeOf('string');
    expect(pages.every((request) => request.headers.otdsticket?.startsWith('*OTDSSSO*'))).toBe(true);
    expect(otds.ticketsIssued).toBe(1);
  });

  it('renews an expired ticket once on 401 and repeats the request', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
    otds.expireTickets();
    expect((await client.getUser('user2@Users'))?.id).toBe('user2@Users');
    expect(otds.ticketsIssued).toBe(2);
    expect(client.authentications).toBe(2);
  });

  it('shares one login between concurrent requests', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    await Promise.all(users.map((user) => client.getUser(user.id)));
    expect(otds.ticketsIssued).toBe(1);
  });

  it('refuses wrong credentials with ERR_OTDS_AUTH_FAILED and does not retry them', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { auth: { kind: 'credentials', userName: 'otadmin@otds.admin', password: 'no' } });
    const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_AUTH_FAILED')).toBe(true);
    expect(String((error as Error).message)).toContain('Invalid username or password');
    expect(otds.requests).toHaveLength(1);
  });

  it('fails with ERR_OTDS_AUTH_FAILED when a fresh ticket is refused too', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    otds.fail({ status: 401, path: '/rest/users', times: 2 });
    const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_AUTH_FAILED')).toBe(true);
    expect(otds.ticketsIssued).toBe(2);
  });

  it('gets an OAuth client-credentials token, caches it, and renews it before expiry', async () => {
    let now = 1_000_000;
    const otds = useOtds({ users, tokenTtlSeconds: 600, now: () => now });
    const client = clientFor(otds, { auth: OAUTH_AUTH, clock: { now: () => now } });
    await client.getUser('user1@Users');
    await client.getUser('user2@Users');
    expect(otds.tokensIssued).toBe(1);
    const tokenRequest = otds.requests.find((request) => request.segments.join('/') === 'oauth2/token');
    expect(new URLSearchParams(tokenRequest?.body).get('grant_type')).toBe('client_credentials');
    expect(otds.requests.at(-1)?.headers.authorization).toMatch(/^Bearer /);
    now += 539_000;
    await client.getUser('user3@Users');
    expect(otds.tokensIssued).toBe(1);
    now += 2_000; // 541 s of 600: inside the 60 s renewal margin
    await client.getUser('user3@Users');
    expect(otds.tokensIssued).toBe(2);
  });

  it('renews a revoked OAuth token on 401; a refused client is ERR_OTDS_AUTH_FAILED', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { auth: { ...OAUTH_AUTH, clientAuthentication: 'basic' } });
    await client.getUser('user1@Users');
    otds.revokeTokens();
    expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
    expect(otds.tokensIssued).toBe(2);
    const refused = clientFor(otds, { auth: { ...OAUTH_AUTH, clientSecret: 'wrong' } });
    const error = await refused.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_AUTH_FAILED')).toBe(true);
    expect((error as { details: { reason?: string } }).details.reason).toBe('invalid_client');
  });

  it('retries 429 and 5xx with backoff, honouring Retry-After', async () => {
    const otds = useOtds({ users });
    const timers = instantTimers();
    const client = clientFor(otds, { timers, random: () => 0 });
    otds.fail({ status: 429, retryAfter: '2', path: '/rest/users' });
    otds.fail({ status: 503, path: '/rest/users' });
    expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
    expect(timers.waits).toEqual([2000, 0]);
  });

  it('gives up after the retries with a retryable code', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { timers: instantTimers(), retries: 2 });
    otds.fail({ status: 503, path: '/rest/users', times: 3 });
    const unavailable = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(unavailable, 'ERR_OTDS_UNAVAILABLE')).toBe(true);
    expect((unavailable as { details: { attempts: number } }).details.attempts).toBe(3);
    otds.fail({ status: 429, path: '/rest/users', times: 3 });
    const limited = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(limited, 'ERR_OTDS_RATE_LIMITED')).toBe(true);
    otds.fail({ status: 429, retryAfter: '3600', path: '/rest/users' });
    const tooLong = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(tooLong, 'ERR_OTDS_RATE_LIMITED')).toBe(true);
  });

  it('times out a request that never answers, then succeeds on the retry', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { timeoutMs: 50, retries: 1, timers: instantTimers() });
    otds.fail({ hang: true, path: '/rest/users/user1' });
    expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
    otds.fail({ hang: true, path: '/rest/users/user1', times: 2 });
    const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_TIMEOUT')).toBe(true);
  });

  it('refuses malformed JSON and wrongly typed fields, but ignores unknown fields', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    otds.fail({ status: 200, body: '{"users": [', path: '/rest/users' });
    const malformed = await collect(client.users()).catch((caught: unknown) => caught);
    expect(isIdrelayError(malformed, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
    otds.fail({ status: 200, body: '{"users": [{"id": 42}]}', path: '/rest/users' });
    const badId = await collect(client.users()).catch((caught: unknown) => caught);
    expect(isIdrelayError(badId, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
    otds.fail({ status: 200, body: '{"users": [], "nextPageCookie": 7}', path: '/rest/users' });
    const badCookie = await collect(client.users()).catch((caught: unknown) => caught);
    expect(isIdrelayError(badCookie, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
    const body = JSON.stringify({
      id: 'x@Users',
      futureField: { nested: true },
      attributes: { mail: ['x@example.com'], __proto__: ['polluted'] },
    });
    otds.fail({ status: 200, body, path: '/rest/users/x' });
    const user = await client.getUser('x@Users');
    expect(user?.attributes.mail).toEqual(['x@example.com']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stops a listing whose server repeats a page cookie', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    const body = '{"users": [{"id": "a@Users"}], "nextPageCookie": "same"}';
    otds.fail({ status: 200, body, path: '/rest/users', times: 2 });
    const error = await collect(client.users()).catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
  });

  it('URL-encodes hostile ids as one path segment', async () => {
    const hostile = ['../../authentication/credentials', 'a/b?c=d#e@Users', 'x%2Fy@Users', 'name with space@P'];
    const otds = useOtds({ users: hostile.map((id) => ({ id })) });
    const client = clientFor(otds);
    for (const id of hostile) expect((await client.getUser(id))?.id).toBe(id);
    const reads = otds.requests.filter((request) => request.segments[0] === 'users');
    expect(reads.map((request) => request.segments)).toEqual(hostile.map((id) => ['users', id]));
    expect(reads[0]?.rawPath).toBe('/otdsws/rest/users/..%2F..%2Fauthentication%2Fcredentials');
    expect(await client.getUser('nobody@Users')).toBeUndefined();
  });

  it('maps 403, 404 and other 4xx to coded errors', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    otds.fail({ status: 403, path: '/rest/users' });
    expect(isIdrelayError(await collect(client.users()).catch((e: unknown) => e), 'ERR_OTDS_FORBIDDEN')).toBe(true);
    const missing = await collect(client.userMemberOf('nobody@Users')).catch((e: unknown) => e);
    expect(isIdrelayError(missing, 'ERR_OTDS_NOT_FOUND')).toBe(true);
    otds.fail({ status: 400, body: '{"error":"bad filter"}', path: '/rest/users' });
    const refused = await collect(client.users()).catch((e: unknown) => e);
    expect(isIdrelayError(refused, 'ERR_OTDS_REQUEST_REFUSED')).toBe(true);
    expect((refused as { details: { body: string } }).details.body).toContain('bad filter');
  });

  it('refuses unsafe options', () => {
    const auth = OAUTH_AUTH;
    expect(() => createOtdsClient({ baseUrl: 'http://otds.example.com', auth })).toThrow(/https/);
    expect(() => createOtdsClient({ baseUrl: 'https://otds.example.com/?x=1', auth })).toThrow(/query/);
    expect(() => createOtdsClient({ baseUrl: 'not a url', auth })).toThrow(/absolute URL/);
    expect(() => createOtdsClient({ baseUrl: 'https://otds.example.com', auth: { kind: 'nope' } as never })).toThrow();
    expect(() => createOtdsClient({ baseUrl: 'http://127.0.0.1:8080', auth })).not.toThrow();
    const client = createOtdsClient({ baseUrl: 'https://otds.example.com', auth });
    expect(() => client.getUser('')).toThrow(/user id/);
  });
});

describe('OTDS client, more', () => {
  it('renews a ticket that expires in the middle of a paged listing and carries on from the same page', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { pageSize: 2 });
    const seen: string[] = [];
    for await (const user of client.users()) {
      seen.push(user.id);
      if (seen.length === 3) otds.expireTickets();
    }
    expect(seen).toEqual(users.map((user) => user.id));
    expect(otds.ticketsIssued).toBe(2);
    const pages = otds.requests.filter((request) => request.segments.join('/') === 'users');
    expect(pages).toHaveLength(5); // 4 pages, one of them sent twice (401, then with the new ticket)
    expect(pages[2]?.query.next_page_cookie).toBe(pages[3]?.query.next_page_cookie);
  });

  it('stops at once when the caller aborts, without failing the login other callers wait for', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    const controller = new AbortController();
    otds.fail({ hang: true, path: '/rest/users/user1' });
    const aborted = client.getUser('user1@Users', { signal: controller.signal });
    const other = client.getUser('user2@Users');
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    expect((await other)?.id).toBe('user2@Users');
  });

  it('reads the values-list form of attributes as well as attrsAsKeys', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds);
    const body = JSON.stringify({
      id: 'v@Users',
      attributes: null,
      values: [
        { name: 'mail', values: ['v@example.com'] },
        { name: 'accountDisabled', values: [false] },
      ],
    });
    otds.fail({ status: 200, body, path: '/rest/users/v' });
    expect((await client.getUser('v@Users'))?.attributes).toEqual({
      mail: ['v@example.com'],
      accountDisabled: ['false'],
    });
  });
});

describe('OTDS client, token and size edges', () => {
  it('refuses a token that is not Bearer, and keeps one without expires_in until OTDS refuses it', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { auth: OAUTH_AUTH });
    otds.fail({ status: 200, body: '{"access_token": "t", "token_type": "mac"}', path: '/oauth2/token' });
    const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
    expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
    expect(client.authentications).toBe(1);
  });

  it('refuses a body larger than maxResponseBytes', async () => {
    const otds = useOtds({ users });
    const client = clientFor(otds, { maxResponseBytes: 2048 });
    otds.fail({
      status: 200,
      body: JSON.stringify({ id: 'big@Users', description: 'x'.repeat(4096) }),
      path: '/rest/users/big',
    });
    const error = await client.getUser('big@Users').catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_OTDS_RESPONSE_INVALID')).toBe(true);
  });
});

it('does not follow a redirect with the ticket', async () => {
  const otds = useOtds({ users });
  const client = clientFor(otds, { retries: 0 });
  await client.getUser('user1@Users');
  otds.fail({ status: 302, headers: { location: 'https://evil.example/steal' }, path: '/rest/users' });
  const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
  expect(isIdrelayError(error, 'ERR_OTDS_UNAVAILABLE')).toBe(true);
});

it('retries a connection failure and reports a lasting one as ERR_OTDS_UNAVAILABLE with its cause', async () => {
  const otds = useOtds({ users });
  const client = clientFor(otds, { retries: 1, timers: instantTimers() });
  otds.fail({ network: true, path: '/rest/users' });
  expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
  otds.fail({ network: true, path: '/rest/users', times: 2 });
  const error = await client.getUser('user1@Users').catch((caught: unknown) => caught);
  expect(isIdrelayError(error, 'ERR_OTDS_UNAVAILABLE')).toBe(true);
  expect((error as Error).cause).toBeInstanceOf(Error);
});

it('sends the OAuth scope, and form-encodes Basic client credentials', async () => {
  const otds = useOtds({ users, oauthClients: [{ clientId: 'relay:prod', clientSecret: 'p@ss w%rd' }] });
  const client = clientFor(otds, {
    auth: {
      kind: 'oauth',
      clientId: 'relay:prod',
      clientSecret: 'p@ss w%rd',
      scope: 'otdsws',
      clientAuthentication: 'basic',
    },
  });
  expect((await client.getUser('user1@Users'))?.id).toBe('user1@Users');
  const token = otds.requests.find((request) => request.segments.join('/') === 'oauth2/token');
  const form = new URLSearchParams(token?.body);
  expect(form.get('scope')).toBe('otdsws');
  expect(form.get('client_secret')).toBeNull();
  expect(token?.headers.authorization).toMatch(/^Basic /);
});
