import type { IdentityEvent, Timers } from '@idrelay/core';
import { eventSubject } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { createOtdsChangePoller, type OtdsChangePollerOptions } from '../src/index.js';
import { clientFor, useOtds } from './setup.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');

function setup(options: Partial<OtdsChangePollerOptions> = {}) {
  const otds = useOtds({
    users: [
      { id: 'alice@Users', attributes: { mail: 'alice@example.com', displayName: 'Alice', department: 'finance' } },
      { id: 'bob@Users', attributes: { mail: 'bob@example.com', accountDisabled: 'false', accountLockedOut: 'false' } },
      { id: 'carol@Users', attributes: { displayName: 'Carol' } },
    ],
    groups: [
      { id: 'Admins@Users', members: ['bob@Users'] },
      { id: 'Staff@Users', members: ['alice@Users', 'bob@Users'] },
    ],
  });
  const poller = createOtdsChangePoller({
    client: clientFor(otds, { pageSize: 2 }),
    privilegedGroups: ['Admins@Users'],
    clock: { now: () => NOW },
    ...options,
  });
  return { otds, poller };
}

const summary = (events: readonly IdentityEvent[]) =>
  events.map(
    (event) =>
      `${event.type} ${(event.data as { userId?: string; groupId?: string }).userId ?? (event.data as { groupId: string }).groupId}`,
  );

describe('OTDS change poller', () => {
  it('records a baseline without events, then reports nothing when nothing changed', async () => {
    const { poller } = setup();
    const baseline = await poller.poll();
    expect(baseline.events).toEqual([]);
    expect(baseline.checkpoint).toMatch(/^otds1\./);
    const again = await poller.poll(baseline.checkpoint);
    expect(again.events).toEqual([]);
    expect(again.checkpoint).toBe(baseline.checkpoint);
  });

  it('emits user.created, user.updated with the attribute diff, and user.deleted', async () => {
    const { otds, poller } = setup();
    const { checkpoint } = await poller.poll();
    otds.state.upsertUser({
      id: 'dave@Users',
      attributes: { mail: 'dave@example.com', displayName: 'Dave', manager: 'alice@Users' },
    });
    otds.state.setAttribute('alice@Users', 'department', 'security');
    otds.state.setAttribute('alice@Users', 'title', ['Analyst', 'Lead']);
    otds.state.setAttribute('alice@Users', 'oTLastLoginTimestamp', '2026-12-03T09:00:00Z'); // not tracked
    otds.state.removeUser('carol@Users');
    const { events } = await poller.poll(checkpoint);
    expect(summary(events)).toEqual([
      'idrelay.user.updated alice@Users',
      'idrelay.user.created dave@Users',
      'idrelay.user.deleted carol@Users',
    ]);
    expect(events[0]?.data).toEqual({
      userId: 'alice@Users',
      changes: [
        { attribute: 'department', oldValue: 'finance', newValue: 'security' },
        { attribute: 'title', oldValue: null, newValue: ['Analyst', 'Lead'] },
      ],
    });
    expect(events[1]?.data).toMatchObject({
      userId: 'dave@Users',
      userName: 'dave',
      displayName: 'Dave',
      managerId: 'alice@Users',
    });
    expect(eventSubject(events[1] as IdentityEvent)).toEqual({ format: 'email', email: 'dave@example.com' });
    expect(eventSubject(events[2] as IdentityEvent)).toEqual({ format: 'opaque', id: 'carol@Users' });
    expect(
      events.every((event) => event.source === 'https://otds.test' && event.time === '2026-12-03T10:00:00.000Z'),
    ).toBe(true);
  });

  it('emits account.disabled, account.locked, account.enabled and password.reset-required from the account flags', async () => {
    const { otds, poller } = setup();
    let { checkpoint } = await poller.poll();
    otds.state.setAttribute('bob@Users', 'accountDisabled', 'true');
    otds.state.setAttribute('alice@Users', 'accountLockedOut', 'TRUE');
    otds.state.setAttribute('carol@Users', 'UserMustChangePasswordAtNextSignIn', 'true');
    const first = await poller.poll(checkpoint);
    expect(summary(first.events)).toEqual([
      'idrelay.account.locked alice@Users',
      'idrelay.account.disabled bob@Users',
      'idrelay.account.password.reset-required carol@Users',
    ]);
    expect(first.events[0]?.data).toEqual({ userId: 'alice@Users', reason: 'other' });
    checkpoint = first.checkpoint;
    otds.state.setAttribute('alice@Users', 'accountLockedOut', 'false');
    otds.state.setAttribute('bob@Users', 'accountLockedOut', 'true'); // still blocked: no enabled for bob
    otds.state.setAttribute('bob@Users', 'accountDisabled', 'false');
    const second = await poller.poll(checkpoint);
    expect(summary(second.events)).toEqual(['idrelay.account.enabled alice@Users', 'idrelay.account.locked bob@Users']);
  });

  it('emits group.member.added/removed, with privilege events for privileged groups', async () => {
    const { otds, poller } = setup();
    const { checkpoint } = await poller.poll();
    otds.state.addMember('Admins@Users', 'alice@Users');
    otds.state.removeMember('Staff@Users', 'bob@Users');
    otds.state.removeMember('Admins@Users', 'bob@Users');
    const { events } = await poller.poll(checkpoint);
    expect(summary(events)).toEqual([
      'idrelay.group.member.added alice@Users',
      'idrelay.privilege.assigned alice@Users',
      'idrelay.group.member.removed bob@Users',
      'idrelay.privilege.revoked bob@Users',
      'idrelay.group.member.removed bob@Users',
    ]);
    expect(events[0]?.data).toEqual({
      groupId: 'Admins@Users',
      groupName: 'Admins',
      userId: 'alice@Users',
      privileged: true,
    });
    expect(events[1]?.data).toMatchObject({ privilege: { id: 'Admins@Users', kind: 'group', system: 'OTDS' } });
    expect(events[4]?.data).toEqual({ groupId: 'Staff@Users', groupName: 'Staff', userId: 'bob@Users' });
  });

  it('reports many changes in one group as one group.bulk-changed', async () => {
    const { otds, poller } = setup({ bulkThreshold: 3 });
    const { checkpoint } = await poller.poll();
    for (let index = 0; index < 5; index++) {
      otds.state.upsertUser({ id: `new${index}@Users` });
      otds.state.addMember('Staff@Users', `new${index}@Users`);
    }
    const { events } = await poller.poll(checkpoint);
    const bulk = events.filter((event) => event.type.startsWith('idrelay.group.'));
    expect(bulk).toHaveLength(1);
    expect(bulk[0]?.data).toEqual({ groupId: 'Staff@Users', groupName: 'Staff', added: 5, removed: 0 });
  });

  it('watches only the listed groups when told to', async () => {
    const { otds, poller } = setup({ groups: ['Admins@Users', 'Gone@Users'] });
    const { checkpoint } = await poller.poll();
    otds.state.addMember('Staff@Users', 'carol@Users');
    otds.state.addMember('Admins@Users', 'carol@Users');
    const { events } = await poller.poll(checkpoint);
    expect(summary(events)).toEqual([
      'idrelay.group.member.added carol@Users',
      'idrelay.privilege.assigned carol@Users',
    ]);
    expect(otds.requests.some((request) => request.segments.join('/') === 'groups')).toBe(false);
  });

  it('gives the same event ids when a poll is repeated from the same checkpoint', async () => {
    const { otds, poller } = setup();
    const { checkpoint } = await poller.poll();
    otds.state.setAttribute('alice@Users', 'department', 'it');
    otds.state.addMember('Admins@Users', 'carol@Users');
    const first = await poller.poll(checkpoint);
    const repeated = await poller.poll(checkpoint);
    expect(repeated.events.map((event) => event.id)).toEqual(first.events.map((event) => event.id));
    otds.state.setAttribute('alice@Users', 'department', 'hr');
    const later = await poller.poll(first.checkpoint);
    expect(later.events[0]?.id).not.toBe(first.events[0]?.id);
  });

  it('refuses a checkpoint it did not write', async () => {
    const { poller } = setup();
    for (const bad of [
      '',
      'ldap1.abc',
      'otds1.!!!',
      'otds1.AAAA',
      `otds1.${Buffer.from('{}').toString('base64url')}`,
    ]) {
      await expect(poller.poll(bad)).rejects.toMatchObject({ code: 'ERR_OTDS_CHECKPOINT_INVALID' });
    }
  });

  it('keeps a change whose attribute breaks the event limits from blocking the feed', async () => {
    const errors: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (fields: unknown) => errors.push(fields) };
    const { otds, poller } = setup({ logger });
    const { checkpoint } = await poller.poll();
    otds.state.upsertUser({ id: 'eve@Users', attributes: { displayName: 'x'.repeat(5000), mail: 'not an address' } });
    otds.state.setAttribute('alice@Users', 'department', 'it');
    const { events } = await poller.poll(checkpoint);
    expect(summary(events)).toEqual(['idrelay.user.updated alice@Users']);
    expect(errors).toHaveLength(1);
  });

  it('read() polls on its interval, yields only changes, survives a transient outage and stops on abort', async () => {
    const waits: (() => void)[] = [];
    const timers: Timers = {
      setTimeout: (callback) => {
        waits.push(callback as () => void);
        return waits.length;
      },
      clearTimeout: () => {},
    };
    const { otds } = setup();
    const client = clientFor(otds, { retries: 0 });
    const resilient = createOtdsChangePoller({ client, timers, intervalMs: 30_000, clock: { now: () => NOW } });
    const controller = new AbortController();
    const iterator = resilient.read({ signal: controller.signal })[Symbol.asyncIterator]();
    const baseline = await iterator.next();
    expect(baseline.value?.events).toEqual([]);
    const next = iterator.next();
    await Promise.resolve();
    // A poll with no change yields nothing; an outage is logged and retried; then the change arrives.
    await flushUntil(() => waits.length === 1);
    waits.shift()?.();
    await flushUntil(() => waits.length === 1);
    otds.fail({ status: 503, path: '/rest/users' });
    waits.shift()?.();
    await flushUntil(() => waits.length === 1);
    otds.state.setAttribute('carol@Users', 'department', 'hr');
    waits.shift()?.();
    const change = await next;
    expect(summary(change.value?.events ?? [])).toEqual(['idrelay.user.updated carol@Users']);
    controller.abort();
    expect((await iterator.next()).done).toBe(true);
  });
});

async function flushUntil(condition: () => boolean): Promise<void> {
  for (let round = 0; round < 1000 && !condition(); round++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}
