import type { IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { createMemoryStore } from '@idrelay/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let scim: ScimHandler;
let events: IdentityEvent[];
let directory: ReturnType<typeof createStoreDirectory>;

function call(method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: 'Bearer t' } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

async function members(groupId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const user of directory.resolve({ kind: 'group', groupId })) ids.push(user.id);
  return ids.sort();
}

beforeEach(async () => {
  let n = 0;
  events = [];
  const store = createMemoryStore();
  directory = createStoreDirectory(store);
  scim = createScimHandler({
    store,
    tokens: [hashScimToken('t')],
    emit: (batch) => void events.push(...batch),
    newId: () => `id-${++n}`,
  });
  for (const userName of ['u1', 'u2', 'u3']) await call('POST', '/Users', { schemas: [USER], userName });
  events = [];
});

describe('groups', () => {
  it('creates a group with members, then follows Okta and Entra membership PATCHes with one event per change', async () => {
    const created = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Finance',
      members: [{ value: 'id-1' }],
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'id-4', displayName: 'Finance' });
    expect(await members('id-4')).toEqual(['id-1']);
    expect(events.map((event) => [event.type, event.data])).toEqual([
      ['idrelay.group.member.added', { groupId: 'id-4', groupName: 'Finance', userId: 'id-1' }],
    ]);

    events = [];
    // Okta group push: remove by value filter, add members; adding an existing member emits nothing.
    const okta = await call('PATCH', '/Groups/id-4', {
      schemas: [PATCH],
      Operations: [
        { op: 'remove', path: 'members[value eq "id-1"]' },
        { op: 'add', path: 'members', value: [{ value: 'id-2' }, { value: 'id-3' }, { value: 'id-3' }] },
      ],
    });
    expect(okta.status).toBe(200);
    expect(await members('id-4')).toEqual(['id-2', 'id-3']);
    expect(events.map((event) => `${event.type} ${(event.data as { userId: string }).userId}`)).toEqual([
      'idrelay.group.member.removed id-1',
      'idrelay.group.member.added id-2',
      'idrelay.group.member.added id-3',
    ]);

    events = [];
    // Entra without aadOptscim062020: capitalised op, members to remove in value.
    await call('PATCH', '/Groups/id-4', {
      schemas: [PATCH],
      Operations: [
        { op: 'Remove', path: 'members', value: [{ value: 'id-2' }] },
        { op: 'Add', path: 'members', value: [{ value: 'id-3' }] }, // already a member: no event
        { op: 'Replace', path: 'displayName', value: 'Treasury' },
      ],
    });
    expect(await members('id-4')).toEqual(['id-3']);
    expect(events.map((event) => event.type)).toEqual(['idrelay.group.member.removed']);
    expect(await (await call('GET', '/Groups/id-4')).json()).toMatchObject({ displayName: 'Treasury' });

    expect((await call('DELETE', '/Groups/id-4')).status).toBe(204);
    expect((await call('GET', '/Groups/id-4')).status).toBe(404);
  });

  it('refuses unknown members and unsupported operations without changing anything', async () => {
    const bad = await call('POST', '/Groups', { schemas: [GROUP], displayName: 'X', members: [{ value: 'nobody' }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ scimType: 'invalidValue' });
    expect(await directory.getGroup('id-4')).toBeUndefined();

    await call('POST', '/Groups', { schemas: [GROUP], displayName: 'Y', members: [{ value: 'id-1' }] });
    events = [];
    const mixed = await call('PATCH', '/Groups/id-5', {
      schemas: [PATCH],
      Operations: [
        { op: 'add', path: 'members', value: [{ value: 'id-2' }] },
        { op: 'replace', path: 'members.display', value: 'x' },
      ],
    });
    expect(mixed.status).toBe(400);
    expect(await mixed.json()).toMatchObject({ scimType: 'invalidPath' });
    expect(await members('id-5')).toEqual(['id-1']);
    expect(events).toEqual([]);
    expect((await call('POST', '/Groups', { schemas: [GROUP] })).status).toBe(400);
  });
});

describe('discovery (RFC 7644 §4)', () => {
  it('describes what is supported: PATCH and ETags yes, sort yes; bulk and password change no; User and Group types', async () => {
    const config = (await (await call('GET', '/ServiceProviderConfig')).json()) as Record<
      string,
      { supported?: boolean }
    >;
    expect(config.patch?.supported).toBe(true);
    expect(config.etag?.supported).toBe(true);
    expect(config.bulk?.supported).toBe(false);
    expect(config.sort?.supported).toBe(true);
    expect(config.changePassword?.supported).toBe(false);
    const types = (await (await call('GET', '/ResourceTypes')).json()) as {
      Resources: { id: string; endpoint: string }[];
    };
    expect(types.Resources.map((type) => [type.id, type.endpoint])).toEqual([
      ['User', '/Users'],
      ['Group', '/Groups'],
    ]);
    expect((await call('POST', '/ServiceProviderConfig', {})).status).toBe(405);
    expect((await scim(new Request(`${BASE}/ServiceProviderConfig`))).status).toBe(401);
  });
});
