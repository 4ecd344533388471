import type { DirectoryUser } from '@idrelay/core';
import { directoryContract } from '@idrelay/testkit/contracts';
import type { OtdsSeedGroup, OtdsSeedUser } from '@idrelay/testkit/otds';
import { describe, expect, it } from 'vitest';
import { createOtdsDirectory } from '../src/index.js';
import { clientFor, collect, useOtds, useOtdsForFile } from './setup.js';

/** The contract's fixture as OTDS entries: subjects in `mail`/`mobile`/`oTExternalID1`, the rest as attributes. */
function seed(fixture: Parameters<Parameters<typeof directoryContract>[0]['create']>[0]) {
  const users: OtdsSeedUser[] = fixture.users.map((user) => {
    const attributes: Record<string, string | readonly string[]> = { ...user.attributes };
    if (user.displayName) attributes.displayName = user.displayName;
    if (user.managerId) attributes.manager = user.managerId;
    if (user.locale) attributes.preferredLanguage = user.locale;
    if (user.timeZone) attributes.timeZone = user.timeZone;
    for (const subject of user.subjects ?? []) {
      if (subject.format === 'email') attributes.mail = subject.email;
      if (subject.format === 'phone_number') attributes.mobile = subject.phone_number;
      if (subject.format === 'iss_sub') attributes.oTExternalID1 = subject.sub;
    }
    return { id: user.id, attributes };
  });
  const groups: OtdsSeedGroup[] = (fixture.groups ?? []).map((group) => ({
    id: group.id,
    ...(group.name ? { name: group.name } : {}),
    members: group.members ?? [],
    groups: group.groups ?? [],
  }));
  return {
    users,
    groups,
    privileged: (fixture.groups ?? []).filter((group) => group.privileged).map((group) => group.id),
  };
}

directoryContract({
  name: 'otds',
  create(fixture) {
    const { users, groups, privileged } = seed(fixture);
    const otds = useOtdsForFile({ baseUrl: 'https://contract.otds.test', users, groups });
    return createOtdsDirectory({
      client: clientFor(otds, { pageSize: 3 }),
      mapping: { timeZone: 'timeZone', issuers: { 'https://idp.example.com': 'oTExternalID1' } },
      privilegedGroups: privileged,
      approvers: fixture.resourceApprovers ?? {},
    });
  },
});

describe('OTDS directory', () => {
  const users: OtdsSeedUser[] = [
    { id: 'ann@Users', attributes: { displayName: 'Ann', mail: 'ann@example.com', department: 'it' } },
    { id: 'ben@Users', attributes: { displayName: 'Ben', mail: 'not-an-address', department: 'it' } },
    { id: 'cat@Users', attributes: { department: ['it', 'hr'], manager: 'ann@Users' } },
  ];

  it('maps OTDS attributes: one value a string, several a list, malformed subjects left out', async () => {
    const otds = useOtds({ users });
    const directory = createOtdsDirectory({ client: clientFor(otds) });
    const ann = (await directory.getUser('ann@Users')) as DirectoryUser;
    expect(ann).toMatchObject({
      id: 'ann@Users',
      displayName: 'Ann',
      subjects: [{ format: 'email', email: 'ann@example.com' }],
    });
    expect(ann.attributes.department).toBe('it');
    const ben = (await directory.getUser('ben@Users')) as DirectoryUser;
    expect(ben.subjects).toBeUndefined();
    const cat = (await directory.getUser('cat@Users')) as DirectoryUser;
    expect(cat.attributes.department).toEqual(['it', 'hr']);
    expect(cat.managerId).toBe('ann@Users');
  });

  it('narrows subject lookups with where_filter and still compares exactly', async () => {
    const otds = useOtds({
      users: [...users, { id: 'mallory@Users', attributes: { mail: 'xann@example.com.evil' } }],
    });
    const directory = createOtdsDirectory({ client: clientFor(otds) });
    expect((await directory.findBySubject({ format: 'email', email: 'ANN@example.com' }))?.id).toBe('ann@Users');
    const lookup = otds.requests.find((request) => request.segments.join('/') === 'users');
    expect(lookup?.query.where_filter).toBe('ANN@example.com');
    expect(await directory.findBySubject({ format: 'email', email: 'nn@example.com' })).toBeUndefined();
  });

  it('walks a nested group across pages, once per user, and stops at cycles', async () => {
    const many = Array.from({ length: 12 }, (_, index) => ({ id: `u${index}@Users` }));
    const otds = useOtds({
      users: many,
      groups: [
        { id: 'top', members: ['u0@Users', 'u1@Users'], groups: ['mid'] },
        { id: 'mid', members: many.slice(1, 10).map((user) => user.id), groups: ['leaf', 'top'] },
        { id: 'leaf', members: ['u10@Users', 'u11@Users', 'u0@Users'], groups: ['mid'] },
      ],
    });
    const directory = createOtdsDirectory({ client: clientFor(otds, { pageSize: 4 }) });
    const found = await collect(directory.resolve({ kind: 'group', groupId: 'top' }));
    expect(found.map((user) => user.id).sort()).toEqual(many.map((user) => user.id).sort());
    const memberReads = otds.requests.filter((request) => request.segments[2] === 'members');
    expect(new Set(memberReads.map((request) => request.segments[1]))).toEqual(new Set(['top', 'mid', 'leaf']));
  });

  it('stops reading pages when the consumer stops', async () => {
    const many = Array.from({ length: 20 }, (_, index) => ({
      id: `u${index}@Users`,
      attributes: { department: 'it' },
    }));
    const otds = useOtds({ users: many });
    const directory = createOtdsDirectory({ client: clientFor(otds, { pageSize: 5 }) });
    for await (const user of directory.resolve({ kind: 'attributes', filter: { department: 'it' } })) {
      expect(user.id).toBe('u0@Users');
      break;
    }
    expect(otds.requests.filter((request) => request.segments.join('/') === 'users')).toHaveLength(1);
  });

  it('refuses a malformed audience with ERR_AUDIENCE_INVALID', () => {
    const otds = useOtds({ users });
    const directory = createOtdsDirectory({ client: clientFor(otds) });
    expect(() => directory.resolve({ kind: 'group', groupId: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIENCE_INVALID' }),
    );
  });

  it('passes OTDS outages through as coded errors instead of an empty audience', async () => {
    const otds = useOtds({ users, groups: [{ id: 'g', members: ['ann@Users'] }] });
    const directory = createOtdsDirectory({ client: clientFor(otds, { retries: 0 }) });
    otds.fail({ status: 503, path: '/rest/groups' });
    await expect(collect(directory.resolve({ kind: 'group', groupId: 'g' }))).rejects.toMatchObject({
      code: 'ERR_OTDS_UNAVAILABLE',
    });
  });
});

describe('OTDS directory, more', () => {
  it('lists nested groups of a user with privilege flags, stopping at cycles', async () => {
    const otds = useOtds({
      users: [{ id: 'u@P' }],
      groups: [
        { id: 'team@P', members: ['u@P'] },
        { id: 'dept@P', groups: ['team@P', 'org@P'] },
        { id: 'org@P', groups: ['dept@P'] },
        { id: 'admins@P', groups: ['org@P'] },
      ],
    });
    const directory = createOtdsDirectory({ client: clientFor(otds), privilegedGroups: ['admins@P'] });
    const groups = await collect(directory.groupsOf('u@P', { nested: true }));
    expect(groups.map((group) => [group.id, group.privileged ?? false])).toEqual([
      ['team@P', false],
      ['dept@P', false],
      ['org@P', false],
      ['admins@P', true],
    ]);
    expect(await collect(directory.groupsOf('nobody@P', { nested: true }))).toEqual([]);
  });

  it('finds users by iss_sub through the mapped attribute and by phone with a full listing', async () => {
    const otds = useOtds({
      users: [
        { id: 'a@P', attributes: { oTExternalID3: 'sub-1', mobile: '+41 79 123 45 67' } },
        { id: 'b@P', attributes: { oTExternalID3: 'sub-10' } },
      ],
    });
    const directory = createOtdsDirectory({
      client: clientFor(otds),
      mapping: { issuers: { 'https://login.example.com': 'oTExternalID3' } },
    });
    const bySub = await directory.findBySubject({ format: 'iss_sub', iss: 'https://login.example.com', sub: 'sub-1' });
    expect(bySub?.id).toBe('a@P');
    const unknownIssuer = await directory.findBySubject({
      format: 'iss_sub',
      iss: 'https://other.example',
      sub: 'sub-1',
    });
    expect(unknownIssuer).toBeUndefined();
    const byPhone = await directory.findBySubject({ format: 'phone_number', phone_number: '+41791234567' });
    expect(byPhone?.id).toBe('a@P');
    const phoneListing = otds.requests.filter((request) => request.segments.join('/') === 'users').at(-1);
    expect(phoneListing?.query.where_filter).toBeUndefined();
  });

  it('asks an approvers function, and limits listings to the partition', async () => {
    const otds = useOtds({
      users: [
        { id: 'owner@Staff', attributes: { department: 'it' } },
        { id: 'guest@Guests', attributes: { department: 'it' } },
      ],
    });
    const asked: string[] = [];
    const directory = createOtdsDirectory({
      client: clientFor(otds),
      partition: 'Staff',
      approvers: (resourceId) => {
        asked.push(resourceId);
        return resourceId === 'erp' ? { users: ['owner@Staff', 'ghost@Staff'] } : undefined;
      },
    });
    expect(
      (await collect(directory.resolve({ kind: 'approvers-of', resourceId: 'erp' }))).map((user) => user.id),
    ).toEqual(['owner@Staff']);
    expect(await collect(directory.resolve({ kind: 'approvers-of', resourceId: 'crm' }))).toEqual([]);
    expect(asked).toEqual(['erp', 'crm']);
    const inIt = await collect(directory.resolve({ kind: 'attributes', filter: { department: 'it' } }));
    expect(inIt.map((user) => user.id)).toEqual(['owner@Staff']);
  });
});

it('does not list the directory for identifiers the mapping cannot produce', async () => {
  const otds = useOtds({ users: [{ id: 'a@P', attributes: { mail: 'a@example.com' } }] });
  const directory = createOtdsDirectory({ client: clientFor(otds) });
  expect(await directory.findBySubject({ format: 'opaque', id: 'a@P' })).toBeUndefined();
  expect(await directory.findBySubject({ format: 'did', url: 'did:example:123' })).toBeUndefined();
  expect(otds.requests).toEqual([]);
  const aliases = {
    format: 'aliases' as const,
    identifiers: [
      { format: 'opaque' as const, id: 'x' },
      { format: 'email' as const, email: 'A@example.com' },
    ],
  };
  expect((await directory.findBySubject(aliases))?.id).toBe('a@P');
});
