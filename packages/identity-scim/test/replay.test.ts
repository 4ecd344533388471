import type { IdentityEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

/**
 * The request sequences Entra ID (without aadOptscim062020) and Okta send for groups and for a full user listing,
 * replayed verbatim in shape: paths, query strings and bodies as the clients' documentation records them.
 */

const TOKEN = 'replay-token';
const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let scim: ScimHandler;
let events: IdentityEvent[];

function call(method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

async function user(userName: string): Promise<string> {
  const response = await call('POST', '/Users', { schemas: [USER], userName, active: true });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

const typesOf = () => events.map((event) => event.type);

beforeEach(() => {
  events = [];
  let ids = 0;
  scim = createScimHandler({
    store: createMemoryStore(),
    tokens: [hashScimToken(TOKEN)],
    newId: () => `${String(++ids).padStart(4, '0')}`,
    emit: (batch) => void events.push(...batch),
  });
});

describe('Entra ID group provisioning', () => {
  it('looks the group up, creates it, adds and removes members, renames it, and deletes it', async () => {
    const first = await user('Test_User_1@contoso.com');
    const second = await user('Test_User_2@contoso.com');
    events = [];
    // 1. Lookup before create, members excluded.
    const lookup = await call(
      'GET',
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Group1DisplayName"')}`,
    );
    expect(await lookup.json()).toMatchObject({ totalResults: 0, Resources: [] });
    // 2. Create (Entra sends externalId and an empty members list).
    const created = await call('POST', '/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Group1DisplayName',
      meta: { resourceType: 'Group' },
      members: [],
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    // 3. Retrieve with members excluded.
    const fetched = await call('GET', `/Groups/${id}?excludedAttributes=members`);
    expect(await fetched.json()).toEqual({
      schemas: [GROUP],
      id,
      displayName: 'Group1DisplayName',
      meta: expect.objectContaining({ resourceType: 'Group' }),
    });
    // 4. Add members (capitalised op).
    const added = await call('PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [
        {
          name: 'addMember',
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: first },
            { $ref: null, value: second },
          ],
        },
      ],
    });
    expect(added.status).toBe(200);
    // 5. Remove a member the pre-2020 way: path "members", the member in value.
    const removed = await call('PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ name: 'removeMember', op: 'Remove', path: 'members', value: [{ $ref: null, value: second }] }],
    });
    expect(removed.status).toBe(200);
    // 6. Rename.
    const renamed = await call('PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' },
      ],
    });
    expect(await renamed.json()).toMatchObject({
      displayName: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
    });
    // 7. Delete: the remaining member leaves.
    expect((await call('DELETE', `/Groups/${id}`)).status).toBe(204);
    expect(typesOf()).toEqual([
      'idrelay.group.member.added',
      'idrelay.group.member.added',
      'idrelay.group.member.removed',
      'idrelay.group.member.removed',
    ]);
    expect(events[3]?.data).toMatchObject({ userId: first });
  });
});

describe('Okta group push and listing', () => {
  it('pushes a group, replaces its members, and pages 250 users with count=100', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(await user(`user${i}@okta.example`));
    events = [];
    const pushed = await call('POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Test SCIMv2',
      members: [{ value: ids[0], display: 'user0@okta.example' }],
    });
    expect(pushed.status).toBe(201);
    const group = ((await pushed.json()) as { id: string }).id;
    // Okta's PATCH with remove members[value eq] and add members, then its alternative: replace all members.
    const patched = await call('PATCH', `/Groups/${group}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'remove', path: `members[value eq "${ids[0]}"]` },
        { op: 'add', path: 'members', value: [{ value: ids[1], display: 'user1@okta.example' }] },
      ],
    });
    expect(patched.status).toBe(200);
    const replaced = await call('PATCH', `/Groups/${group}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'members', value: [{ value: ids[2] }, { value: ids[3] }] }],
    });
    expect(await replaced.json()).toMatchObject({ members: [{ value: ids[2] }, { value: ids[3] }] });
    expect(typesOf()).toEqual([
      'idrelay.group.member.added',
      'idrelay.group.member.removed',
      'idrelay.group.member.added',
      'idrelay.group.member.removed',
      'idrelay.group.member.added',
      'idrelay.group.member.added',
    ]);
    // Okta's import: startIndex=1,101,201 with count=100, stable order, integers as JSON numbers.
    const seen: string[] = [];
    for (const startIndex of [1, 101, 201]) {
      const page = (await (await call('GET', `/Users?startIndex=${startIndex}&count=100`)).json()) as {
        totalResults: number;
        startIndex: number;
        itemsPerPage: number;
        Resources: { id: string }[];
      };
      expect(page).toMatchObject({ totalResults: 250, startIndex, itemsPerPage: startIndex === 201 ? 50 : 100 });
      seen.push(...page.Resources.map((resource) => resource.id));
    }
    expect(seen).toEqual(ids);
    // A userName lookup that finds nobody is an empty ListResponse (not a 404).
    const none = await call(
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "nobody@okta.example"')}&startIndex=1&count=100`,
    );
    expect(await none.json()).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('refuses a group PATCH that touches id or meta with mutability, changing nothing', async () => {
    const created = await call('POST', '/Groups', { schemas: [GROUP], displayName: 'G' });
    const id = ((await created.json()) as { id: string }).id;
    const response = await call('PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'H' },
        { op: 'replace', path: 'id', value: 'other' },
      ],
    });
    expect(await response.json()).toMatchObject({ status: '400', scimType: 'mutability' });
    expect(await (await call('GET', `/Groups/${id}`)).json()).toMatchObject({ displayName: 'G' });
  });
});

describe('Entra ID attribute PATCHes of the default mapping', () => {
  it('accepts value-filtered paths of attributes it does not keep, and keeps the rest', async () => {
    const id = await user('mapped@contoso.com');
    const response = await call('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+41 44 000 00 00' },
        { op: 'Add', path: 'addresses[type eq "work"].formatted', value: '1 Main St' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'mapped.work@contoso.com' },
        { op: 'Replace', path: 'name.formatted', value: 'Mapped User' },
        { op: 'Replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'R&D' },
      ],
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      emails: [{ value: 'mapped.work@contoso.com', type: 'work', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
    });
    const unknown = await call('PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Add', path: 'shoeSizes[type eq "left"].value', value: '42' }],
    });
    expect(await unknown.json()).toMatchObject({ status: '400', scimType: 'invalidPath' });
  });
});
