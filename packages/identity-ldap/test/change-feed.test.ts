import { isIdrelayError } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { seedUsers } from '@idrelay/testkit/ldap';
import { Attribute, Change, Client } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { createLdapChangeFeed, type LdapChangeFeed, runChangeFeed } from '../src/index.js';
import { ldap, skipReason, useSlapd } from './ldap-harness.js';

const seedNow = new Date(Date.UTC(2026, 11, 1, 12, 0, 0));

type Event = IdentityEvent & { data: Record<string, unknown> };
const ofType = (events: readonly IdentityEvent[], type: string) =>
  events.filter((event) => event.type === type) as Event[];

describe.skipIf(!ldap.available)(`LDAP change feed (accesslog)${skipReason}`, () => {
  const env = useSlapd({ now: seedNow });
  const people = () => env.slapd().peopleDN;
  const groups = () => env.slapd().groupsDN;
  const user = (uid: string) => `uid=${uid},${people()}`;
  const group = (cn: string) => `cn=${cn},${groups()}`;
  const replace = (type: string, values: string[]) =>
    new Change({ operation: 'replace', modification: new Attribute({ type, values }) });
  const member = (operation: 'add' | 'delete', dns: string[]) =>
    new Change({ operation, modification: new Attribute({ type: 'member', values: dns }) });
  let feed: LdapChangeFeed;
  let checkpoint: string | undefined;
  const open = (extra: Partial<Parameters<typeof createLdapChangeFeed>[0]> = {}) =>
    createLdapChangeFeed({
      connection: env.connection(),
      usersDN: people(),
      groupsDN: groups(),
      privilegedGroups: ['admins'],
      bulkThreshold: 20,
      ...extra,
    });
  /** Polls from the stored checkpoint and stores the new one, as the relay does. */
  const poll = async () => {
    feed ??= open();
    const batch = await feed.poll(checkpoint);
    checkpoint = batch.checkpoint;
    return batch.events;
  };

  it('starts at now: the seed is not replayed', async () => {
    expect(await poll()).toEqual([]);
  });

  it('emits user.created with mapped attributes, manager and email subject', async () => {
    await env.admin().add(user('joiner1'), {
      objectClass: ['inetOrgPerson'],
      uid: 'joiner1',
      cn: 'Jo Iner',
      sn: 'Iner',
      displayName: 'Jo Iner',
      mail: 'joiner1@example.test',
      departmentNumber: 'finance',
      l: 'zurich',
      manager: user('user0002'),
    });
    const [created, ...rest] = await poll();
    expect(rest).toEqual([]);
    expect(created).toMatchObject({
      type: 'idrelay.user.created',
      source: '/connectors/ldap',
      data: {
        userId: 'joiner1',
        userName: 'joiner1',
        displayName: 'Jo Iner',
        managerId: 'user0002',
        attributes: { department: 'finance', location: 'zurich' },
      },
    });
    expect(created!.idrelaysubject).toBeTypeOf('string');
  });

  it('emits user.updated with the attribute diff, and nothing for untracked attributes', async () => {
    await env
      .admin()
      .modify(user('user0011'), [
        replace('departmentNumber', ['legal']),
        replace('manager', [user('user0004')]),
        replace('userPassword', ['changed']),
      ]);
    await env.admin().modify(user('user0012'), [replace('userPassword', ['only-password'])]);
    const events = await poll();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'idrelay.user.updated',
      data: {
        userId: 'user0011',
        changes: [
          { attribute: 'managerId', oldValue: seedUsers(11)[10]!.manager, newValue: 'user0004' },
          { attribute: 'department', oldValue: seedUsers(11)[10]!.department, newValue: 'legal' },
        ],
      },
    });
  });

  it('emits user.deleted with the uid and email from the old entry', async () => {
    await env.admin().del(user('user0013'));
    const events = await poll();
    expect(events.map((e) => e.type)).toEqual(['idrelay.user.deleted']);
    expect(events[0]!.data).toMatchObject({ userId: 'user0013', by: { id: 'cn=admin,dc=example,dc=test' } });
  });

  it('emits membership events, with privilege events for privileged groups', async () => {
    await env.admin().modify(group('dept-hr'), [member('add', [user('user0020')])]);
    await env
      .admin()
      .modify(group('admins'), [member('add', [user('user0021')]), member('delete', [user('user0001')])]);
    const events = await poll();
    expect(events.map((e) => [e.type, (e.data as { userId: string }).userId])).toEqual([
      ['idrelay.group.member.added', 'user0020'],
      ['idrelay.group.member.added', 'user0021'],
      ['idrelay.privilege.assigned', 'user0021'],
      ['idrelay.group.member.removed', 'user0001'],
      ['idrelay.privilege.revoked', 'user0001'],
    ]);
    expect(ofType(events, 'idrelay.group.member.added')[1]!.data).toMatchObject({
      groupId: 'admins',
      privileged: true,
    });
    expect(ofType(events, 'idrelay.group.member.added')[0]!.data.privileged).toBeUndefined();
    expect(ofType(events, 'idrelay.privilege.assigned')[0]!.data).toMatchObject({
      privilege: { id: 'admins', kind: 'group', system: 'ldap' },
    });
  });

  it('assigns privilege to every user of a group nested into a privileged group', async () => {
    await env.admin().add(group('break-glass'), {
      objectClass: ['groupOfNames'],
      cn: 'break-glass',
      member: [user('user0030'), user('user0031')],
    });
    await env.admin().modify(group('admins'), [member('add', [group('break-glass')])]);
    const events = await poll();
    expect(
      ofType(events, 'idrelay.privilege.assigned')
        .map((e) => e.data.userId)
        .sort(),
    ).toEqual(['user0030', 'user0031']);
    expect(ofType(events, 'idrelay.group.member.added').map((e) => e.data.groupId)).toEqual([
      'break-glass',
      'break-glass',
    ]);
  });

  it('summarises a bulk change over the threshold as one group.bulk-changed', async () => {
    const added = seedUsers(600)
      .filter((u) => u.index >= 500 && u.department !== 'legal')
      .slice(0, 30)
      .map((u) => user(u.uid));
    await env.admin().modify(group('dept-legal'), [member('add', added)]);
    const events = await poll();
    expect(events.map((e) => e.type)).toEqual(['idrelay.group.bulk-changed']);
    expect(events[0]!.data).toMatchObject({ groupId: 'dept-legal', added: 30, removed: 0 });
  });

  it('emits account.locked, account.enabled and reset-required from ppolicy attributes', async () => {
    await env.admin().modify(user('user0040'), [replace('pwdAccountLockedTime', ['000001010000Z'])]);
    await env.admin().modify(user('user0041'), [replace('pwdReset', ['TRUE'])]);
    let events = await poll();
    expect(events.map((e) => [e.type, (e.data as { userId: string }).userId])).toEqual([
      ['idrelay.account.locked', 'user0040'],
      ['idrelay.account.password.reset-required', 'user0041'],
    ]);
    expect(events[0]!.data).toMatchObject({ reason: 'administrator' });
    await env
      .admin()
      .modify(user('user0040'), [
        new Change({ operation: 'delete', modification: new Attribute({ type: 'pwdAccountLockedTime', values: [] }) }),
      ]);
    events = await poll();
    expect(events.map((e) => e.type)).toEqual(['idrelay.account.enabled']);
    // A timed lock written by an administrator is in the log and in the lockout scan: reported once, as theirs.
    const lockTime = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
    await env.admin().modify(user('user0043'), [replace('pwdAccountLockedTime', [lockTime])]);
    events = await poll();
    expect(events.map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([
      ['idrelay.account.locked', 'administrator'],
    ]);
  });

  it('reports ppolicy lockouts after failed binds as failed-logins, from the log or the lockout scan', async () => {
    const client = new Client({ url: env.slapd().url });
    for (let i = 0; i < 3; i++) await expect(client.bind(user('user0042'), 'wrong')).rejects.toThrow();
    await client.unbind();
    const events = await poll();
    expect(events.map((e) => e.type)).toEqual(['idrelay.account.locked']);
    expect(events[0]!.data).toMatchObject({ userId: 'user0042', reason: 'failed-logins', failedAttempts: 3 });
    expect(await poll()).toEqual([]);
    // The scan alone (for servers without the log) finds the same lock under the same event id.
    const scanner = open({ lockoutScan: true });
    const since = JSON.stringify({ ...JSON.parse(checkpoint!), lockedSince: '20000101000000Z', lockedIds: [] });
    const scanned = (await scanner.poll(since)).events;
    expect(scanned.map((e) => [e.type, e.data.userId, e.data.reason])).toContainEqual([
      'idrelay.account.locked',
      'user0042',
      'failed-logins',
    ]);
    expect(scanned.find((e) => e.data.userId === 'user0042')!.id).toBe(events[0]!.id);
  });

  it('re-reading from an older checkpoint yields the same event ids, so ingest drops them', async () => {
    const before = checkpoint;
    await env.admin().modify(user('user0050'), [replace('title', ['Director'])]);
    const first = await poll();
    const again = await feed.poll(before);
    expect(again.events.map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect(again.checkpoint).toBe(checkpoint);
  });

  it('refuses a checkpoint it did not write', async () => {
    feed ??= open();
    for (const bad of [
      'nope',
      '{"v":1,"mode":"modifyTimestamp","position":"20260101000000Z"}',
      '{"v":1,"mode":"accesslog","position":"x)(a=*"}',
    ]) {
      const error = await feed.poll(bad).catch((e: unknown) => e);
      expect(isIdrelayError(error, 'ERR_LDAP_CHECKPOINT'), bad).toBe(true);
    }
  });

  it('warns of passwords entering the expiry window once, from the policy entry', async () => {
    let now = seedNow.getTime() + 60_000;
    const expiring = open({
      passwordPolicy: { dn: env.slapd().policyDN },
      lockoutScan: false,
      clock: { now: () => now },
    });
    const first = await expiring.poll();
    const warned = ofType(first.events, 'idrelay.account.password.expiring');
    // Ages 76–89 days of a 90-day policy with a 14-day warning: ten users per age among 1,000 (minus the ones deleted).
    expect(warned.length).toBeGreaterThanOrEqual(135);
    expect(warned.length).toBeLessThanOrEqual(140);
    const one = warned.find((e) => e.data.userId === 'user0089')!;
    expect(one.data).toMatchObject({ daysLeft: 0, expiresAt: new Date(seedNow.getTime() + 86_400_000).toISOString() });
    expect(warned.find((e) => e.data.userId === 'user0076')!.data.daysLeft).toBe(13);
    now += 30 * 60_000;
    expect(ofType((await expiring.poll(first.checkpoint)).events, 'idrelay.account.password.expiring')).toEqual([]);
    now += 86_400_000;
    const next = ofType((await expiring.poll(first.checkpoint)).events, 'idrelay.account.password.expiring');
    expect(next.map((e) => e.data.userId).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `user${String(75 + i * 100).padStart(4, '0')}`),
    );
  });

  it('runChangeFeed saves the checkpoint only after ingest resolved', async () => {
    const runner = open({ pollIntervalMs: 60_000 });
    let saved = checkpoint;
    const checkpoints = {
      load: async () => saved,
      save: async (c: string) => {
        saved = c;
      },
    };
    const ingested: string[] = [];
    await env.admin().modify(user('user0060'), [replace('title', ['Runner'])]);
    const controller = new AbortController();
    const failing = runChangeFeed(runner, {
      ingest: async () => {
        throw new Error('relay down');
      },
      checkpoints,
      signal: controller.signal,
    });
    await expect(failing).rejects.toThrow('relay down');
    expect(saved).toBe(checkpoint);
    await runChangeFeed(runner, {
      ingest: async (events) => {
        ingested.push(...events.map((e) => e.type));
        controller.abort();
      },
      checkpoints,
      signal: controller.signal,
    });
    expect(ingested).toEqual(['idrelay.user.updated']);
    expect(saved).not.toBe(checkpoint);
    checkpoint = saved;
  });

  it('read() yields batches until aborted', async () => {
    const reader = open({ pollIntervalMs: 60_000 });
    const controller = new AbortController();
    const batches = [];
    for await (const batch of reader.read({ ...(checkpoint ? { checkpoint } : {}), signal: controller.signal })) {
      batches.push(batch);
      controller.abort();
    }
    expect(batches).toHaveLength(1);
  });
});

describe.skipIf(!ldap.available)(`LDAP change feed (modifyTimestamp)${skipReason}`, () => {
  const env = useSlapd({ users: 50 });
  it('diffs changed entries against snapshots after a baseline poll', async () => {
    const { peopleDN, groupsDN } = env.slapd();
    const feed = createLdapChangeFeed({
      connection: env.connection(),
      usersDN: peopleDN,
      groupsDN,
      mode: 'modifyTimestamp',
      privilegedGroups: ['admins'],
      lockoutScan: false,
    });
    const baseline = await feed.poll();
    expect(baseline.events).toEqual([]);
    await env
      .admin()
      .modify(`uid=user0007,${peopleDN}`, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Chief'] }) }),
      ]);
    await env.admin().modify(`cn=admins,${groupsDN}`, [
      new Change({
        operation: 'add',
        modification: new Attribute({ type: 'member', values: [`uid=user0008,${peopleDN}`] }),
      }),
    ]);
    await env.admin().add(`uid=fresh,${peopleDN}`, { objectClass: ['inetOrgPerson'], uid: 'fresh', cn: 'F', sn: 'F' });
    const batch = await feed.poll(baseline.checkpoint);
    expect(batch.events.map((e) => [e.type, (e.data as { userId: string }).userId]).sort()).toEqual([
      ['idrelay.group.member.added', 'user0008'],
      ['idrelay.privilege.assigned', 'user0008'],
      ['idrelay.user.created', 'fresh'],
      ['idrelay.user.updated', 'user0007'],
    ]);
    expect(ofType(batch.events, 'idrelay.user.updated')[0]!.data.changes).toEqual([
      { attribute: 'title', oldValue: 'Consultant', newValue: 'Chief' },
    ]);
    expect((await feed.poll(batch.checkpoint)).events).toEqual([]);
  });
});
