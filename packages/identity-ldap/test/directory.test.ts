import { isIdrelayError } from '@idrelay/core';
import { SEED_DEPARTMENTS, seedUsers } from '@idrelay/testkit/ldap';
import { Attribute, Change } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { childDN, createLdapDirectory, type LdapDirectory } from '../src/index.js';
import { collect, ldap, skipReason, useSlapd } from './ldap-harness.js';

const people = seedUsers(1000);
const ids = async (iterable: AsyncIterable<{ id: string }>) => (await collect(iterable)).map((u) => u.id).sort();

describe.skipIf(!ldap.available)(`LDAP directory on the default seed${skipReason}`, () => {
  const env = useSlapd();
  let directory: LdapDirectory;
  const open = () => {
    directory ??= createLdapDirectory({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      groupsDN: env.slapd().groupsDN,
      privilegedGroups: ['admins'],
      pageSize: 100,
    });
    return directory;
  };

  it('targets by attributes, streaming every match across pages', async () => {
    const d = open();
    const expected = people.filter((u) => ['finance', 'it'].includes(u.department) && u.location === 'zurich');
    const found = await ids(
      d.resolve({ kind: 'attributes', filter: { department: ['finance', 'it'], location: 'zurich' } }),
    );
    expect(found).toEqual(expected.map((u) => u.uid).sort());
    expect(found.length).toBeGreaterThan(0);
    const all = await collect(d.resolve({ kind: 'attributes', filter: { department: SEED_DEPARTMENTS } }));
    expect(all).toHaveLength(1000);
    const user = all.find((u) => u.id === 'user0100')!;
    expect(user).toMatchObject({ displayName: 'User 100', locale: 'de-CH', managerId: people[99]!.manager });
    expect(user.subjects).toEqual([{ format: 'email', email: 'user0100@example.test' }]);
    expect(user.attributes).toMatchObject({ department: people[99]!.department, title: people[99]!.title });
  });

  it('runs concurrent paged audiences on one directory (a paged search per socket)', async () => {
    const d = open();
    const [zurich, finance, staff] = await Promise.all([
      collect(d.resolve({ kind: 'attributes', filter: { location: 'zurich' } })),
      collect(d.resolve({ kind: 'attributes', filter: { department: 'finance' } })),
      collect(d.resolve({ kind: 'group', groupId: 'staff' })),
    ]);
    expect(zurich).toHaveLength(people.filter((u) => u.location === 'zurich').length);
    expect(finance).toHaveLength(125);
    expect(staff).toHaveLength(1000);
  });

  it('expands nested groups once per user and stops at cycles', async () => {
    const d = open();
    expect(await ids(d.resolve({ kind: 'group', groupId: 'staff' }))).toHaveLength(1000);
    expect(await ids(d.resolve({ kind: 'group', groupId: 'staff', nested: false }))).toEqual([]);
    expect(await ids(d.resolve({ kind: 'group', groupId: 'admins' }))).toEqual([
      'user0001',
      'user0002',
      'user0003',
      'user0010',
      'user0018',
    ]);
    expect(await ids(d.resolve({ kind: 'group', groupId: 'it-oncall' }))).toHaveLength(5);
    expect(await ids(d.resolve({ kind: 'group', groupId: 'admins', nested: false }))).toEqual(['user0001']);
    const groups = await collect(d.groupsOf('user0002', { nested: true }));
    expect(groups.map((g) => g.id).sort()).toEqual(['admins', 'db-admins', 'dept-security', 'it-oncall', 'staff']);
    expect((await collect(d.groupsOf('user0002'))).map((g) => g.id).sort()).toEqual(['db-admins', 'dept-security']);
    expect(groups.find((g) => g.id === 'admins')?.privileged).toBe(true);
  });

  it('follows manager chains to the top', async () => {
    const d = open();
    const chain = (await collect(d.managerChain('user0100'))).map((u) => u.id);
    const lead = people[99]!.manager!;
    const head = people.find((u) => u.uid === lead)!.manager!;
    expect(chain).toEqual([lead, head, 'user0001']);
    expect(await ids(d.resolve({ kind: 'manager-of', userId: 'user0100' }))).toEqual([lead]);
  });

  it('lets a consumer stop after the first user of a large audience', async () => {
    const d = open();
    for await (const user of d.resolve({ kind: 'group', groupId: 'staff' })) {
      expect(user.id).toMatch(/^user\d{4}$/);
      break;
    }
    const controller = new AbortController();
    controller.abort();
    await expect(
      collect(d.resolve({ kind: 'attributes', filter: { location: 'zurich' } }, { signal: controller.signal })),
    ).rejects.toThrow();
  });

  it('never widens a search from hostile values', async () => {
    const d = open();
    for (const value of ['*', '*)(uid=*', 'finance)(|(uid=*', 'finance\u0000', '\\2a', 'finance*']) {
      expect(await ids(d.resolve({ kind: 'attributes', filter: { department: value } })), value).toEqual([]);
      expect(await d.getUser(value)).toBeUndefined();
      expect(await ids(d.resolve({ kind: 'group', groupId: value }))).toEqual([]);
    }
    expect(await d.findBySubject({ format: 'email', email: '*@example.test' })).toBeUndefined();
    expect(await d.findBySubject({ format: 'opaque', id: 'user0001)(uid=*' })).toBeUndefined();
    expect(await ids(d.resolve({ kind: 'users', userIds: ['user0001)(uid=*', 'user0002'] }))).toEqual(['user0002']);
  });

  it('refuses attribute names the mapping does not know', async () => {
    const d = open();
    for (const key of ['userPassword', 'department)(uid=*', 'uid=*']) {
      const error = await collect(d.resolve({ kind: 'attributes', filter: { [key]: 'x' } })).catch((e: unknown) => e);
      expect(isIdrelayError(error, 'ERR_LDAP_FILTER'), key).toBe(true);
    }
  });

  it('handles ids and DNs with commas, plus signs, quotes and leading hashes', async () => {
    const d = open();
    const { peopleDN, groupsDN } = env.slapd();
    const weird = ['smith, john', 'a+b=c', '#lead', 'quote"d;<x>'];
    for (const uid of weird) {
      await env.admin().add(childDN('uid', uid, peopleDN), {
        objectClass: ['inetOrgPerson'],
        uid,
        cn: uid,
        sn: 'x',
        departmentNumber: 'odd',
      });
    }
    await env.admin().add(childDN('cn', 'odd, group+1', groupsDN), {
      objectClass: ['groupOfNames'],
      cn: 'odd, group+1',
      member: weird.map((uid) => childDN('uid', uid, peopleDN)),
    });
    for (const uid of weird) expect((await d.getUser(uid))?.id).toBe(uid);
    expect(await ids(d.resolve({ kind: 'group', groupId: 'odd, group+1' }))).toEqual([...weird].sort());
    expect(await ids(d.resolve({ kind: 'attributes', filter: { department: 'odd' } }))).toEqual([...weird].sort());
    expect((await collect(d.groupsOf('smith, john'))).map((g) => g.id)).toEqual(['odd, group+1']);
  });

  it('uses the typed filter search with mapped names', async () => {
    const d = open();
    const found = await ids(
      d.search({
        and: [
          { attribute: 'location', equals: 'berlin' },
          { attribute: 'title', startsWith: 'Spec' },
        ],
      }),
    );
    expect(found).toEqual(
      people
        .filter((u) => u.location === 'berlin' && u.title === 'Specialist')
        .map((u) => u.uid)
        .sort(),
    );
  });

  it('reconnects and rebinds after the connection drops', async () => {
    const d = open();
    await env.connection().run('drop', (client) => client.unbind());
    expect((await d.getUser('user0001'))?.id).toBe('user0001');
  });

  it('reports refused credentials as ERR_LDAP_BIND', async () => {
    const bad = createLdapDirectory({
      connection: { url: env.slapd().url, bindDN: env.slapd().bindDN, password: 'wrong' },
      usersDN: env.slapd().peopleDN,
      groupsDN: env.slapd().groupsDN,
    });
    const error = await bad.getUser('user0001').catch((e: unknown) => e);
    expect(isIdrelayError(error, 'ERR_LDAP_BIND')).toBe(true);
    await bad.close?.();
  });

  it('sees a change made through ldapts at once', async () => {
    const d = open();
    await env
      .admin()
      .modify(`uid=user0005,${env.slapd().peopleDN}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'l', values: ['tokyo'] }) }),
      ]);
    expect(await ids(d.resolve({ kind: 'attributes', filter: { location: 'tokyo' } }))).toEqual(['user0005']);
  });
});
