import type { IdentityEvent } from '@idrelay/core';
import { eventSubject } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { createOtdsChangePoller } from '../src/index.js';
import { clientFor, useOtds } from './setup.js';

const describeEvents = (events: readonly IdentityEvent[]) =>
  events.map((event) => {
    const data = event.data as { userId?: string; groupId?: string };
    return `${event.type.replace('idrelay.', '')} ${data.userId ?? data.groupId}`;
  });

describe('OTDS change poller, edges', () => {
  it('reports members of a new group as added and of a deleted group as removed', async () => {
    const otds = useOtds({ users: [{ id: 'a@P' }, { id: 'b@P' }], groups: [{ id: 'old@P', members: ['a@P'] }] });
    const poller = createOtdsChangePoller({ client: clientFor(otds) });
    const { checkpoint } = await poller.poll();
    otds.state.removeGroup('old@P');
    otds.state.upsertGroup({ id: 'new@P', members: ['b@P'] });
    const { events } = await poller.poll(checkpoint);
    expect(describeEvents(events)).toEqual(['group.member.removed a@P', 'group.member.added b@P']);
    expect(events[0]?.data).toMatchObject({ groupId: 'old@P', groupName: 'old' });
  });

  it('does not report the memberships of a deleted user, only the deletion', async () => {
    const otds = useOtds({ users: [{ id: 'a@P' }], groups: [{ id: 'g@P', members: ['a@P'] }] });
    const poller = createOtdsChangePoller({ client: clientFor(otds), privilegedGroups: ['g@P'] });
    const { checkpoint } = await poller.poll();
    otds.state.removeUser('a@P');
    expect(describeEvents((await poller.poll(checkpoint)).events)).toEqual(['user.deleted a@P']);
  });

  it('reports a user created disabled, and a renamed login', async () => {
    const otds = useOtds({ users: [{ id: 'a@P', name: 'anna' }] });
    const poller = createOtdsChangePoller({ client: clientFor(otds) });
    const { checkpoint } = await poller.poll();
    otds.state.upsertUser({ id: 'a@P', name: 'anne' });
    otds.state.upsertUser({ id: 'b@P', attributes: { accountDisabled: 'true', mail: 'b@example.com' } });
    const { events } = await poller.poll(checkpoint);
    expect(describeEvents(events)).toEqual(['user.updated a@P', 'user.created b@P', 'account.disabled b@P']);
    expect(events[0]?.data).toEqual({
      userId: 'a@P',
      changes: [{ attribute: 'userName', oldValue: 'anna', newValue: 'anne' }],
    });
    expect(events[1]?.data).toMatchObject({ userName: 'b', attributes: { mail: 'b@example.com' } });
  });

  it('follows the configured attributes and partition only', async () => {
    const otds = useOtds({
      users: [
        { id: 'a@Staff', attributes: { costCenter: '100', department: 'it' } },
        { id: 'z@Guests', attributes: { costCenter: '1' } },
      ],
    });
    const poller = createOtdsChangePoller({
      client: clientFor(otds),
      trackedAttributes: ['costCenter'],
      partition: 'Staff',
    });
    const { checkpoint } = await poller.poll();
    otds.state.setAttribute('a@Staff', 'costCenter', '200');
    otds.state.setAttribute('a@Staff', 'department', 'hr');
    otds.state.setAttribute('z@Guests', 'costCenter', '2');
    otds.state.upsertUser({ id: 'y@Guests' });
    const { events } = await poller.poll(checkpoint);
    expect(describeEvents(events)).toEqual(['user.updated a@Staff']);
    expect(events[0]?.data).toEqual({
      userId: 'a@Staff',
      changes: [{ attribute: 'costCenter', oldValue: '100', newValue: '200' }],
    });
    const listing = otds.requests.find((request) => request.segments.join('/') === 'users');
    expect(listing?.query.where_partition_name).toBe('Staff');
  });

  it('names the person by e-mail when it is usable and by OTDS id otherwise', async () => {
    const otds = useOtds({
      users: [
        { id: 'a@P', attributes: { mail: 'a@example.com' } },
        { id: 'b@P', attributes: { mail: 'b at example' } },
      ],
    });
    const poller = createOtdsChangePoller({ client: clientFor(otds) });
    const { checkpoint } = await poller.poll();
    otds.state.setAttribute('a@P', 'title', 'CFO');
    otds.state.setAttribute('b@P', 'title', 'CEO');
    const { events } = await poller.poll(checkpoint);
    expect(events.map((event) => eventSubject(event))).toEqual([
      { format: 'email', email: 'a@example.com' },
      { format: 'opaque', id: 'b@P' },
    ]);
  });

  it('ends read() on a failure that retrying cannot fix', async () => {
    const otds = useOtds({ users: [{ id: 'a@P' }] });
    const client = clientFor(otds, {
      auth: { kind: 'credentials', userName: 'otadmin@otds.admin', password: 'wrong' },
    });
    const poller = createOtdsChangePoller({ client });
    const run = async () => {
      for await (const _batch of poller.read({})) {
        // never reached
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'ERR_OTDS_AUTH_FAILED' });
  });

  it('refuses bad options', () => {
    const otds = useOtds();
    const client = clientFor(otds);
    expect(() => createOtdsChangePoller({ client, intervalMs: -1 })).toThrow(/intervalMs/);
    expect(() => createOtdsChangePoller({ client, bulkThreshold: 0 })).toThrow(/bulkThreshold/);
  });
});

it('watches no group with groups: [] and resumes from a stored checkpoint in read()', async () => {
  const otds = useOtds({ users: [{ id: 'a@P' }], groups: [{ id: 'g@P', members: ['a@P'] }] });
  const poller = createOtdsChangePoller({ client: clientFor(otds), groups: [] });
  const { checkpoint } = await poller.poll();
  expect(otds.requests.some((request) => request.segments[0] === 'groups')).toBe(false);
  otds.state.setAttribute('a@P', 'title', 'Boss');
  const controller = new AbortController();
  for await (const batch of poller.read({ checkpoint, signal: controller.signal })) {
    expect(describeEvents(batch.events)).toEqual(['user.updated a@P']);
    controller.abort();
  }
});
