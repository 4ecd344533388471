import { eventSubject, type IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { createMemoryStore } from '@idrelay/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const TOKEN = 'entra-secret-token';
const BASE = 'https://relay.example.com/scim/v2';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let scim: ScimHandler;
let events: IdentityEvent[];
let directory: ReturnType<typeof createStoreDirectory>;
let ids: number;

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json', ...headers },
  };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

// The body Entra ID sends to create a user (default attribute mapping, aadOptscim062020 not set).
const entraCreate = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@contoso.com',
  active: true,
  addresses: [{ primary: true, type: 'work', formatted: '1 Main St' }],
  displayName: 'Test User',
  emails: [{ primary: true, type: 'work', value: 'Test_User_11bb6e2f@contoso.com' }],
  meta: { resourceType: 'User' },
  name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
  roles: [],
  title: 'Engineer',
  [ENTERPRISE]: { department: 'finance', employeeNumber: '4711', manager: { value: 'carol' } },
};

beforeEach(() => {
  events = [];
  ids = 0;
  const store = createMemoryStore();
  directory = createStoreDirectory(store);
  scim = createScimHandler({
    store,
    tokens: [hashScimToken(TOKEN)],
    emit: (batch) => {
      events.push(...batch);
    },
    newId: () => `u-${++ids}`,
  });
});

describe('Entra ID provisioning sequence', () => {
  it('looks up, creates, updates, deactivates and reactivates a user, with lifecycle events', async () => {
    const lookup = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${entraCreate.userName}"`)}`);
    expect(lookup.status).toBe(200);
    expect(await json(lookup)).toMatchObject({ totalResults: 0, Resources: [] });

    const created = await call('POST', '/Users', entraCreate);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${BASE}/Users/u-1`);
    const resource = await json(created);
    expect(resource).toMatchObject({
      id: 'u-1',
      userName: entraCreate.userName,
      active: true,
      name: { givenName: 'givenName', familyName: 'familyName' },
      [ENTERPRISE]: { department: 'finance', manager: { value: 'carol' } },
      meta: { resourceType: 'User', location: `${BASE}/Users/u-1` },
    });
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.created']);
    expect(events[0]?.data).toMatchObject({ userId: 'u-1', userName: entraCreate.userName, managerId: 'carol' });
    expect(eventSubject(events[0] as IdentityEvent)).toEqual({
      format: 'email',
      email: 'Test_User_11bb6e2f@contoso.com',
    });

    // The directory the relay resolves audiences from now knows the user.
    const stored = await directory.getUser('u-1');
    expect(stored).toMatchObject({
      displayName: 'Test User',
      managerId: 'carol',
      attributes: { department: 'finance' },
    });

    // Lookup is case-insensitive on userName (RFC 7643 §4.1.1).
    const found = await call(
      'GET',
      `/Users?filter=${encodeURIComponent(`userName eq "${entraCreate.userName.toUpperCase()}"`)}`,
    );
    expect(await json(found)).toMatchObject({ totalResults: 1, Resources: [{ id: 'u-1' }] });

    events = [];
    // Entra without aadOptscim062020: capitalised ops, one Replace per attribute, enterprise path with a URN.
    const moved = await call('PATCH', '/Users/u-1', {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'treasury' },
        { op: 'Replace', path: `${ENTERPRISE}:manager`, value: 'dave' },
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'new@contoso.com' },
      ],
    });
    expect(moved.status).toBe(200);
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.updated']);
    expect(events[0]?.data).toMatchObject({
      userId: 'u-1',
      changes: expect.arrayContaining([
        { attribute: 'department', oldValue: 'finance', newValue: 'treasury' },
        { attribute: 'managerId', oldValue: 'carol', newValue: 'dave' },
        { attribute: 'emails', oldValue: ['Test_User_11bb6e2f@contoso.com'], newValue: ['new@contoso.com'] },
      ]),
    });
    expect(await directory.getUser('u-1')).toMatchObject({ managerId: 'dave', attributes: { department: 'treasury' } });

    events = [];
    const disabled = await call('PATCH', '/Users/u-1', {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(await json(disabled)).toMatchObject({ active: false });
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.deactivated', 'idrelay.account.disabled']);
    expect((await directory.getUser('u-1'))?.active).toBe(false);

    events = [];
    await call('PATCH', '/Users/u-1', {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'True' }],
    });
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.activated', 'idrelay.account.enabled']);
  });
});

describe('Okta provisioning sequence', () => {
  it('pages with count=100, replaces with PUT, and deactivates with a PATCH without path', async () => {
    for (const name of ['a', 'b', 'c']) {
      const response = await call('POST', '/Users', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: `${name}@example.com`,
        name: { givenName: name, familyName: 'Example' },
        emails: [{ primary: true, value: `${name}@example.com`, type: 'work' }],
        password: 'never-stored',
        active: true,
      });
      expect(response.status).toBe(201);
    }
    const page = await json(await call('GET', '/Users?startIndex=1&count=100'));
    expect(page).toMatchObject({ totalResults: 3, startIndex: 1, itemsPerPage: 3 });
    const second = await json(await call('GET', '/Users?startIndex=3&count=2'));
    expect(second).toMatchObject({ totalResults: 3, startIndex: 3, itemsPerPage: 1, Resources: [{ id: 'u-3' }] });
    expect(JSON.stringify(await directory.getUser('u-1'))).not.toContain('never-stored');

    events = [];
    const put = await call('PUT', '/Users/u-2', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: 'u-2',
      userName: 'b@example.com',
      name: { givenName: 'Bea', familyName: 'Example' },
      emails: [{ primary: true, value: 'b@example.com', type: 'work' }],
      active: true,
    });
    expect(put.status).toBe(200);
    expect(events[0]?.data).toMatchObject({
      changes: [{ attribute: 'givenName', oldValue: 'b', newValue: 'Bea' }],
    });

    events = [];
    const off = await call('PATCH', '/Users/u-2', {
      schemas: [PATCH],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    expect(off.status).toBe(200);
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.deactivated', 'idrelay.account.disabled']);
  });
});

describe('DELETE and ETags', () => {
  it('deletes a user with user.deleted, and refuses a stale If-Match with 412', async () => {
    const created = await call('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'x',
    });
    const etag = created.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/".+"$/);
    const changed = await call(
      'PATCH',
      '/Users/u-1',
      {
        schemas: [PATCH],
        Operations: [{ op: 'replace', path: 'displayName', value: 'X' }],
      },
      { 'if-match': etag },
    );
    expect(changed.status).toBe(200);
    const stale = await call('DELETE', '/Users/u-1', undefined, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(await directory.getUser('u-1')).toBeDefined();
    events = [];
    const removed = await call('DELETE', '/Users/u-1', undefined, { 'if-match': changed.headers.get('etag') ?? '' });
    expect(removed.status).toBe(204);
    expect(events.map((event) => event.type)).toEqual(['idrelay.user.deleted']);
    expect(await directory.getUser('u-1')).toBeUndefined();
    expect((await call('GET', '/Users/u-1')).status).toBe(404);
  });
});
