import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { otdsHandlers } from './otds-handlers.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const BASE = 'https://otds.test/otdsws';

async function login(): Promise<Record<string, string>> {
  const response = await fetch(`${BASE}/rest/authentication/credentials`, {
    method: 'POST',
    body: JSON.stringify({ userName: 'otadmin@otds.admin', password: 'otds-secret' }),
  });
  const { ticket } = (await response.json()) as { ticket: string };
  return { OTDSTicket: ticket };
}

describe('in-memory OTDS handlers', () => {
  it('answer 401 without a ticket or token, and with a wrong password', async () => {
    server.use(...otdsHandlers({ users: [{ id: 'a@P' }] }).handlers);
    expect((await fetch(`${BASE}/rest/users`)).status).toBe(401);
    expect((await fetch(`${BASE}/rest/users`, { headers: { OTDSTicket: 'forged' } })).status).toBe(401);
    const refused = await fetch(`${BASE}/rest/authentication/credentials`, {
      method: 'POST',
      body: JSON.stringify({ userName: 'otadmin@otds.admin', password: 'wrong' }),
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ ticket: null, failureReason: 'Invalid username or password' });
  });

  it('page with page_size and nextPageCookie, and refuse a forged cookie', async () => {
    const users = Array.from({ length: 5 }, (_, index) => ({ id: `u${index}@P` }));
    server.use(...otdsHandlers({ users }).handlers);
    const headers = await login();
    const first = (await (await fetch(`${BASE}/rest/users?page_size=2`, { headers })).json()) as {
      users: { id: string }[];
      nextPageCookie: string;
    };
    expect(first.users.map((user) => user.id)).toEqual(['u0@P', 'u1@P']);
    const cookie = encodeURIComponent(first.nextPageCookie);
    const second = (await (
      await fetch(`${BASE}/rest/users?page_size=2&next_page_cookie=${cookie}`, { headers })
    ).json()) as {
      users: { id: string }[];
    };
    expect(second.users.map((user) => user.id)).toEqual(['u2@P', 'u3@P']);
    expect((await fetch(`${BASE}/rest/users?next_page_cookie=bm9wZQ`, { headers })).status).toBe(400);
    const groupCookie = await fetch(`${BASE}/rest/groups?next_page_cookie=${cookie}`, { headers });
    expect(groupCookie.status).toBe(400);
  });

  it('filter by where_filter and where_partition_name, and answer both attribute forms', async () => {
    const otds = otdsHandlers({
      users: [
        { id: 'ann@Staff', attributes: { mail: 'Ann@Example.com' } },
        { id: 'ann@Guests', attributes: { mail: 'ann@example.com' } },
        { id: 'bob@Staff' },
      ],
    });
    server.use(...otds.handlers);
    const headers = await login();
    const listed = (await (
      await fetch(`${BASE}/rest/users?where_filter=ann%40example&where_partition_name=Staff&attrsAsKeys=true`, {
        headers,
      })
    ).json()) as { users: { id: string; attributes: Record<string, string[]> }[] };
    expect(listed.users.map((user) => [user.id, user.attributes.mail])).toEqual([['ann@Staff', ['Ann@Example.com']]]);
    const values = (await (await fetch(`${BASE}/rest/users/ann%40Staff`, { headers })).json()) as {
      values: { name: string; values: string[] }[];
    };
    expect(values.values).toEqual([{ name: 'mail', values: ['Ann@Example.com'] }]);
  });

  it('validate PATCH and memberof bodies, and apply them to the state', async () => {
    const otds = otdsHandlers({ users: [{ id: 'a@P' }], groups: [{ id: 'g@P' }] });
    server.use(...otds.handlers);
    const headers = { ...(await login()), 'content-type': 'application/json' };
    const patch = (body: string) => fetch(`${BASE}/rest/users/a%40P`, { method: 'PATCH', headers, body });
    expect((await patch('{"values": [{"name": "mail", "values": [1]}]}')).status).toBe(400);
    expect((await patch('not json')).status).toBe(400);
    expect((await patch('{"values": [{"name": "mail", "values": ["a@example.com"]}]}')).status).toBe(200);
    expect(otds.state.users.get('a@P')?.attributes.get('mail')).toEqual(['a@example.com']);
    const member = (method: string, body: string) =>
      fetch(`${BASE}/rest/users/a%40P/memberof`, { method, headers, body });
    expect((await member('POST', '{"stringList": ["nope@P"]}')).status).toBe(404);
    expect((await member('POST', '{"stringList": "g@P"}')).status).toBe(400);
    expect((await member('POST', '{"stringList": ["g@P"]}')).status).toBe(204);
    expect(otds.state.groupsOfUser('a@P')).toEqual(['g@P']);
    expect((await member('DELETE', '{"stringList": ["g@P"]}')).status).toBe(204);
    expect(otds.state.groupsOfUser('a@P')).toEqual([]);
  });

  it('issue client-credentials tokens that expire on the injected clock', async () => {
    let now = 0;
    const otds = otdsHandlers({ users: [{ id: 'a@P' }], tokenTtlSeconds: 10, now: () => now });
    server.use(...otds.handlers);
    const token = async (body: string, headers: Record<string, string> = {}) =>
      fetch(`${BASE}/oauth2/token`, {
        method: 'POST',
        body,
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      });
    expect((await token('grant_type=password&client_id=idrelay&client_secret=client-secret')).status).toBe(400);
    expect((await token('grant_type=client_credentials&client_id=idrelay&client_secret=nope')).status).toBe(401);
    const basic = `Basic ${Buffer.from('idrelay:client-secret').toString('base64')}`;
    const issued = (await (await token('grant_type=client_credentials', { authorization: basic })).json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(issued.expires_in).toBe(10);
    const bearer = { authorization: `Bearer ${issued.access_token}` };
    expect((await fetch(`${BASE}/rest/users/a%40P`, { headers: bearer })).status).toBe(200);
    now = 10_000;
    expect((await fetch(`${BASE}/rest/users/a%40P`, { headers: bearer })).status).toBe(401);
  });

  it('list group members page by page (users, then nested groups) and parents through memberof', async () => {
    const otds = otdsHandlers({
      users: [{ id: 'a@P' }, { id: 'b@P' }],
      groups: [
        { id: 'top@P', members: ['a@P', 'b@P'], groups: ['sub@P'] },
        { id: 'sub@P', members: ['a@P'] },
      ],
    });
    server.use(...otds.handlers);
    const headers = await login();
    const first = (await (await fetch(`${BASE}/rest/groups/top%40P/members?page_size=2`, { headers })).json()) as {
      users: { id: string }[];
      groups: { id: string }[];
      nextPageCookie: string;
    };
    expect([first.users.map((user) => user.id), first.groups]).toEqual([['a@P', 'b@P'], []]);
    const rest = (await (
      await fetch(
        `${BASE}/rest/groups/top%40P/members?page_size=2&next_page_cookie=${encodeURIComponent(first.nextPageCookie)}`,
        {
          headers,
        },
      )
    ).json()) as { users: unknown[]; groups: { id: string }[]; nextPageCookie: string | null };
    expect([rest.users, rest.groups.map((group) => group.id), rest.nextPageCookie]).toEqual([[], ['sub@P'], null]);
    const parents = (await (await fetch(`${BASE}/rest/groups/sub%40P/memberof`, { headers })).json()) as {
      groups: { id: string }[];
    };
    expect(parents.groups.map((group) => group.id)).toEqual(['top@P']);
  });
});
