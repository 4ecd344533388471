import { IdrelayError } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { createMemoryStore } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function caller(scim: ScimHandler, token: string) {
  return (method: string, path: string, body?: unknown) =>
    scim(
      new Request(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
}

describe('per-tenant isolation', () => {
  it('each tenant sees only its own users and groups; the same userName may exist in both', async () => {
    const store = createMemoryStore();
    const events: IdentityEvent[] = [];
    let ids = 0;
    const scim = createScimHandler({
      store,
      tenants: [
        { id: 'acme', tokens: [hashScimToken('acme-token')] },
        { id: 'globex', tokens: [hashScimToken('globex-token'), hashScimToken('globex-rotated')] },
      ],
      newId: () => `id-${++ids}`,
      emit: (batch) => void events.push(...batch),
    });
    const acme = caller(scim, 'acme-token');
    const globex = caller(scim, 'globex-rotated');
    const created = await acme('POST', '/Users', {
      schemas: [USER],
      userName: 'alice',
      emails: [{ value: 'alice@acme.test' }],
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'id-1' });
    expect((await globex('POST', '/Users', { schemas: [USER], userName: 'ALICE' })).status).toBe(201);
    await acme('POST', '/Users', { schemas: [USER], userName: 'bob' });

    const acmeList = (await (await acme('GET', '/Users')).json()) as {
      totalResults: number;
      Resources: { id: string }[];
    };
    expect(acmeList.totalResults).toBe(2);
    expect(acmeList.Resources.map((user) => user.id)).toEqual(['id-1', 'id-3']);
    expect(
      ((await (await globex('GET', '/Users?filter=userName eq "alice"')).json()) as { Resources: unknown[] }).Resources,
    ).toEqual([expect.objectContaining({ id: 'id-2', userName: 'ALICE' })]);
    // Another tenant's id is not found, not readable, not writable, not deletable, not a group member.
    expect((await globex('GET', '/Users/id-1')).status).toBe(404);
    expect((await globex('DELETE', '/Users/id-1')).status).toBe(404);
    const crossGroup = await globex('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'G',
      members: [{ value: 'id-1' }],
    });
    expect(await crossGroup.json()).toMatchObject({ status: '400', scimType: 'invalidValue' });

    // In the directory the ids carry the tenant; events carry the directory id and the tenant.
    const directory = createStoreDirectory(store);
    expect(await directory.getUser('acme:id-1')).toMatchObject({ attributes: { userName: 'alice' } });
    expect(await directory.getUser('globex:id-2')).toMatchObject({ attributes: { userName: 'ALICE' } });
    expect(events[0]?.data).toMatchObject({ userId: 'acme:id-1', tenant: 'acme' });

    const group = await acme('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Team',
      members: [{ value: 'id-3' }],
    });
    expect(group.status).toBe(201);
    expect(((await (await globex('GET', '/Groups')).json()) as { totalResults: number }).totalResults).toBe(0);
    expect(((await (await acme('GET', '/Groups')).json()) as { Resources: unknown[] }).Resources).toEqual([
      expect.objectContaining({ displayName: 'Team', members: [expect.objectContaining({ value: 'id-3' })] }),
    ]);
  });

  it('refuses bad tenant configuration', () => {
    const store = createMemoryStore();
    const digest = hashScimToken('x');
    expect(() => createScimHandler({ store, tenants: [{ id: 'Bad Id', tokens: [digest] }] })).toThrow(TypeError);
    expect(() => createScimHandler({ store, tenants: [{ id: 'a', tokens: [digest] }, { id: 'a' }] })).toThrow(/twice/);
    expect(() => createScimHandler({ store, tokens: [digest], tenants: [{ id: 'a' }] })).toThrow(/either/);
    expect(() => createScimHandler({ store, tenants: [{ id: 'a' }], verifyBearer: async () => ({}) })).toThrow(
      /tenantOf/,
    );
    expect(() => createScimHandler({ store })).toThrow(/verifyBearer/);
  });
});

describe('OIDC bearer tokens through verifyBearer', () => {
  const verifyBearer = async (request: Request) => {
    const token = request.headers.get('authorization')?.slice('Bearer '.length);
    if (token === 'down') throw new IdrelayError('ERR_OIDC_UNAVAILABLE', 'issuer unreachable');
    if (token?.startsWith('jwt-') !== true) throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'bad token');
    return { subject: 'entra-app', claims: { tid: token.slice(4) } };
  };

  it('accepts a verified token beside the static ones, answers 401 for a refused one and 503 when unavailable', async () => {
    const scim = createScimHandler({ store: createMemoryStore(), tokens: [hashScimToken('static')], verifyBearer });
    expect((await caller(scim, 'static')('GET', '/Users')).status).toBe(200);
    expect((await caller(scim, 'jwt-any')('GET', '/Users')).status).toBe(200);
    const refused = await caller(scim, 'forged')('GET', '/Users');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const down = await caller(scim, 'down')('GET', '/Users');
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: '503' });
  });

  it('maps a principal to its tenant with tenantOf; an unknown tenant is 403', async () => {
    const scim = createScimHandler({
      store: createMemoryStore(),
      tenants: [{ id: 'contoso' }, { id: 'fabrikam' }],
      verifyBearer,
      tenantOf: (principal) => (principal as { claims: { tid: string } }).claims.tid,
    });
    expect((await caller(scim, 'jwt-contoso')('POST', '/Users', { schemas: [USER], userName: 'a' })).status).toBe(201);
    const other = (await (await caller(scim, 'jwt-fabrikam')('GET', '/Users')).json()) as { totalResults: number };
    expect(other.totalResults).toBe(0);
    expect((await caller(scim, 'jwt-initech')('GET', '/Users')).status).toBe(403);
  });
});

describe('account events', () => {
  it('account.disabled and account.enabled beside user.deactivated and user.activated, also on create', async () => {
    const events: IdentityEvent[] = [];
    const scim = createScimHandler({
      store: createMemoryStore(),
      tokens: [hashScimToken('t')],
      newId: () => 'u-1',
      emit: (batch) => void events.push(...batch),
    });
    const call = caller(scim, 't');
    await call('POST', '/Users', { schemas: [USER], userName: 'late', active: false });
    expect(events.map((event) => event.type)).toEqual([
      'idrelay.user.created',
      'idrelay.user.deactivated',
      'idrelay.account.disabled',
    ]);
    expect(events[2]?.data).toMatchObject({ userId: 'u-1', reason: 'SCIM active=false' });
    events.length = 0;
    await call('PATCH', '/Users/u-1', {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'True' }],
    });
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.activated', 'idrelay.account.enabled']);
  });
});
