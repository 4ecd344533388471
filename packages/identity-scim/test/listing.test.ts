import type { IdentityEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const TOKEN = 'listing-token';
const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Body = Record<string, unknown> & { Resources?: Record<string, unknown>[] };
let scim: ScimHandler;
let events: IdentityEvent[];
let store: ReturnType<typeof createMemoryStore>;

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

async function get(path: string): Promise<Body> {
  const response = await call('GET', path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as Body;
}

const names = (body: Body) => (body.Resources ?? []).map((resource) => resource.userName ?? resource.displayName);

beforeEach(async () => {
  events = [];
  let ids = 0;
  store = createMemoryStore();
  scim = createScimHandler({
    store,
    tokens: [hashScimToken(TOKEN)],
    newId: () => `id-${String(++ids).padStart(3, '0')}`,
    emit: (batch) => void events.push(...batch),
  });
  for (const [userName, department, title] of [
    ['erin', 'sales', 'B'],
    ['alice', 'finance', 'C'],
    ['Carol', 'finance', undefined],
    ['bob', 'sales', 'A'],
    ['dave', undefined, 'D'],
  ] as const) {
    const response = await call('POST', '/Users', {
      schemas: [USER, ENTERPRISE],
      userName,
      ...(title === undefined ? {} : { title }),
      emails: [{ type: 'work', value: `${userName.toLowerCase()}@example.com`, primary: true }],
      [ENTERPRISE]: department === undefined ? {} : { department },
    });
    expect(response.status).toBe(201);
  }
});

describe('sorting (RFC 7644 §3.4.2.3)', () => {
  it('sorts by userName without case, descending too, and absent values last', async () => {
    expect(names(await get('/Users?sortBy=userName'))).toEqual(['alice', 'bob', 'Carol', 'dave', 'erin']);
    expect(names(await get('/Users?sortBy=userName&sortOrder=descending'))).toEqual([
      'erin',
      'dave',
      'Carol',
      'bob',
      'alice',
    ]);
    expect(names(await get('/Users?sortBy=title'))).toEqual(['bob', 'erin', 'alice', 'dave', 'Carol']);
    expect(names(await get(`/Users?sortBy=${ENTERPRISE}:department&filter=department pr`))).toEqual([
      'alice',
      'Carol',
      'erin',
      'bob',
    ]);
    expect(names(await get('/Users?sortBy=emails&count=2&startIndex=2'))).toEqual(['bob', 'Carol']);
  });

  it('refuses an unknown sortBy or sortOrder', async () => {
    expect((await call('GET', '/Users?sortBy=shoeSize')).status).toBe(400);
    const order = await call('GET', '/Users?sortBy=userName&sortOrder=up');
    expect(await order.json()).toMatchObject({ status: '400', scimType: 'invalidValue' });
  });
});

describe('projection (RFC 7644 §3.4.2.5)', () => {
  it('attributes keeps only what is named plus id and schemas; sub-attributes and the extension by URN', async () => {
    const body = await get(
      `/Users?filter=userName eq "alice"&attributes=userName,emails.value,${ENTERPRISE}:department`,
    );
    expect(body.Resources?.[0]).toEqual({
      schemas: [USER, ENTERPRISE],
      id: 'id-002',
      userName: 'alice',
      emails: [{ value: 'alice@example.com' }],
      [ENTERPRISE]: { department: 'finance' },
    });
  });

  it('excludedAttributes drops what is named but never id or schemas, also on a single GET', async () => {
    const response = await call('GET', `/Users/id-002?excludedAttributes=emails,meta,id,${ENTERPRISE}`);
    const body = (await response.json()) as Body;
    expect(body).toEqual({ schemas: [USER, ENTERPRISE], id: 'id-002', userName: 'alice', title: 'C', active: true });
  });

  it('refuses an unknown attribute in attributes', async () => {
    const response = await call('GET', '/Users?attributes=userName,shoeSize');
    expect(await response.json()).toMatchObject({ status: '400', scimType: 'invalidPath' });
  });
});

describe('paging (RFC 7644 §3.4.2.4)', () => {
  it('count=0 answers the total only; startIndex < 1 is 1; a negative count is 0; past the end is empty', async () => {
    expect(await get('/Users?count=0')).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    expect(await get('/Users?startIndex=0&count=2')).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
    expect(await get('/Users?startIndex=-5&count=1')).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
    expect(await get('/Users?count=-3')).toMatchObject({ totalResults: 5, itemsPerPage: 0 });
    expect(await get('/Users?startIndex=9&count=2')).toMatchObject({ totalResults: 5, itemsPerPage: 0, Resources: [] });
    expect((await call('GET', '/Users?startIndex=1.5')).status).toBe(400);
  });

  it("walks every user once with Okta's count=100 and with pages of 2 (keyset cursor between pages)", async () => {
    expect(names(await get('/Users?startIndex=1&count=100'))).toHaveLength(5);
    const seen: unknown[] = [];
    for (let start = 1; start <= 5; start += 2) {
      const page = await get(`/Users?startIndex=${start}&count=2`);
      expect(page.totalResults).toBe(5);
      seen.push(...(page.Resources ?? []).map((resource) => resource.id));
    }
    expect(seen).toEqual(['id-001', 'id-002', 'id-003', 'id-004', 'id-005']);
    // A user removed between pages: the next page continues after the last id served, nothing repeats.
    const first = await get('/Users?startIndex=1&count=2');
    expect((await call('DELETE', '/Users/id-001')).status).toBe(204);
    const second = await get('/Users?startIndex=3&count=2');
    expect([...(first.Resources ?? []), ...(second.Resources ?? [])].map((r) => r.id)).toEqual([
      'id-001',
      'id-002',
      'id-003',
      'id-004',
    ]);
    expect(second.totalResults).toBe(4);
  });
});

describe('groups', () => {
  async function group(displayName: string, members: string[]): Promise<string> {
    const response = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName,
      members: members.map((value) => ({ value })),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }

  it('lists groups with displayName filters, members in the representation, and excludedAttributes=members', async () => {
    const admins = await group('Admins', ['id-001', 'id-002']);
    await group('Sales', ['id-004']);
    const found = await get('/Groups?filter=displayName eq "admins"');
    expect(found).toMatchObject({ totalResults: 1 });
    expect(found.Resources?.[0]).toMatchObject({
      id: admins,
      displayName: 'Admins',
      members: [
        { value: 'id-001', type: 'User', $ref: `${BASE}/Users/id-001` },
        { value: 'id-002', type: 'User', $ref: `${BASE}/Users/id-002` },
      ],
      meta: { resourceType: 'Group', location: `${BASE}/Groups/${admins}` },
    });
    // Entra's lookup form.
    const lean = await get('/Groups?excludedAttributes=members&filter=displayName eq "Admins"');
    expect(lean.Resources?.[0]?.members).toBeUndefined();
    expect(names(await get('/Groups?filter=members[value eq "id-004"]'))).toEqual(['Sales']);
    expect(names(await get('/Groups?sortBy=displayName&sortOrder=descending'))).toEqual(['Sales', 'Admins']);
    expect((await call('GET', '/Groups?filter=owner eq "x"')).status).toBe(400);
  });

  it("replaces all members (Okta's group push) and by PUT, with one event per real change", async () => {
    const id = await group('Team', ['id-001', 'id-002']);
    events = [];
    const replaced = await call('PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'members', value: [{ value: 'id-002' }, { value: 'id-003' }] }],
    });
    expect(replaced.status).toBe(200);
    expect(events.map((event) => [event.type, (event.data as { userId: string }).userId])).toEqual([
      ['idrelay.group.member.removed', 'id-001'],
      ['idrelay.group.member.added', 'id-003'],
    ]);
    events = [];
    const put = await call('PUT', `/Groups/${id}`, {
      schemas: [GROUP],
      displayName: 'Team 2',
      members: [{ value: 'id-003' }, { value: 'id-005' }],
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({
      displayName: 'Team 2',
      members: [{ value: 'id-003' }, { value: 'id-005' }],
    });
    expect(events.map((event) => event.type)).toEqual(['idrelay.group.member.removed', 'idrelay.group.member.added']);
    expect((await call('PUT', `/Groups/${id}`, { schemas: [GROUP] })).status).toBe(400);
  });

  it('has ETags: a membership change moves the version; a stale If-Match is 412', async () => {
    const id = await group('Versioned', []);
    const first = await call('GET', `/Groups/${id}`);
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"/);
    expect(((await first.json()) as { meta: { version: string } }).meta.version).toBe(etag);
    const add = { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: 'id-001' }] }] };
    const changed = await call('PATCH', `/Groups/${id}`, add, { 'if-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const stale = await call('PATCH', `/Groups/${id}`, add, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect((await call('DELETE', `/Groups/${id}`, undefined, { 'if-match': etag })).status).toBe(412);
  });

  it("a deleted group's memberships end with member.removed events", async () => {
    const id = await group('Gone', ['id-001', 'id-003']);
    events = [];
    expect((await call('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect(events.map((event) => [event.type, (event.data as { userId: string }).userId])).toEqual([
      ['idrelay.group.member.removed', 'id-001'],
      ['idrelay.group.member.removed', 'id-003'],
    ]);
    expect((await call('GET', `/Groups/${id}`)).status).toBe(404);
  });
});

describe('/Schemas and /ResourceTypes/{id} (RFC 7644 §4)', () => {
  it('describes the core User, Enterprise User and Group schemas', async () => {
    const all = await get('/Schemas');
    expect((all.Resources ?? []).map((schema) => schema.id)).toEqual([USER, ENTERPRISE, GROUP]);
    const user = await get(`/Schemas/${USER}`);
    const userName = (user.attributes as { name: string; caseExact: boolean; uniqueness: string }[]).find(
      (attribute) => attribute.name === 'userName',
    );
    expect(userName).toMatchObject({ caseExact: false, uniqueness: 'server', required: true });
    const enterprise = await get(`/Schemas/${ENTERPRISE}`);
    expect((enterprise.attributes as { name: string }[]).map((attribute) => attribute.name)).toContain('manager');
    expect((await call('GET', '/Schemas/urn:nope')).status).toBe(404);
    expect(await get('/ResourceTypes/Group')).toMatchObject({ id: 'Group', endpoint: '/Groups', schema: GROUP });
    expect((await call('GET', '/ResourceTypes/Device')).status).toBe(404);
  });
});

describe('unfiltered totals across processes', () => {
  it("reuses totalResults for totalCacheMs; another handler's creates show once it expires, its own at once", async () => {
    let clock = Date.parse('2026-12-03T12:00:00Z');
    const shared = createMemoryStore();
    let ids = 0;
    const make = () =>
      createScimHandler({
        store: shared,
        tokens: [hashScimToken(TOKEN)],
        totalCacheMs: 30_000,
        now: () => new Date(clock),
        newId: () => `t-${++ids}`,
      });
    const here = make();
    const elsewhere = make(); // another process on the same database
    const request = (handler: ScimHandler, method: string, path: string, body?: unknown) =>
      handler(
        new Request(`${BASE}${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}` },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    const total = async () =>
      ((await (await request(here, 'GET', '/Users?count=1')).json()) as { totalResults: number }).totalResults;
    await request(here, 'POST', '/Users', { schemas: [USER], userName: 'one' });
    expect(await total()).toBe(1);
    await request(here, 'POST', '/Users', { schemas: [USER], userName: 'two' });
    expect(await total()).toBe(2); // its own create moves the cached total
    await request(elsewhere, 'POST', '/Users', { schemas: [USER], userName: 'three' });
    expect(await total()).toBe(2); // not yet: the total is reused for 30 s
    clock += 30_000;
    expect(await total()).toBe(3);
  });
});
