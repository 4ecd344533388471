import type { IdentityEvent } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { acknowledgementPlan, createOtdsWriteBack } from '../src/index.js';
import { clientFor, instantTimers, useOtds } from './setup.js';

const HOSTILE = 'eve/../../groups/Admins@Users?x=#';

function acknowledged(userId: string, notificationId = 'n-1'): IdentityEvent {
  return createEvent(
    'idrelay.notification.acknowledged',
    { notificationId, userId, acknowledgedAt: '2026-12-03T10:00:00Z' },
    { source: '/relay', id: `ack-${notificationId}` },
  ) as IdentityEvent;
}

function approved(userId: string): IdentityEvent {
  return createEvent(
    'idrelay.access.approved',
    { requestId: 'r-1', approver: { id: 'carol@Users' }, decidedAt: '2026-12-03T10:00:00Z', beneficiary: userId },
    { source: '/relay' },
  ) as IdentityEvent;
}

function setup() {
  const otds = useOtds({
    users: [{ id: 'alice@Users' }, { id: HOSTILE }],
    groups: [{ id: 'Finance@Users' }, { id: 'Temp@Users', members: ['alice@Users'] }, { id: 'Admins@Users' }],
  });
  return { otds, client: clientFor(otds, { timers: instantTimers() }) };
}

describe('OTDS write-back', () => {
  it('writes an acknowledgement into the configured attribute with PATCH /users/{id}', async () => {
    const { otds, client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.notification.acknowledged'],
      plan: acknowledgementPlan({ attribute: 'oTExtraAttr1', partition: 'Users' }),
    });
    expect(await writeBack.write(acknowledged('alice@Users'))).toEqual({ status: 'written', reference: 'alice@Users' });
    expect(otds.state.users.get('alice@Users')?.attributes.get('oTExtraAttr1')).toEqual(['n-1 2026-12-03T10:00:00Z']);
    const patch = otds.requests.find((request) => request.method === 'PATCH');
    expect(JSON.parse(patch?.body ?? '')).toEqual({
      userPartitionID: 'Users',
      values: [{ name: 'oTExtraAttr1', values: ['n-1 2026-12-03T10:00:00Z'] }],
    });
  });

  it('writes to the user a hostile id names, and nowhere else', async () => {
    const { otds, client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.notification.acknowledged'],
      plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }),
    });
    expect((await writeBack.write(acknowledged(HOSTILE))).status).toBe('written');
    expect(otds.state.users.get(HOSTILE)?.attributes.get('oTExtraAttr1')).toHaveLength(1);
    expect(otds.state.groups.get('Admins@Users')?.members.size).toBe(0);
    const patch = otds.requests.find((request) => request.method === 'PATCH');
    expect(patch?.segments).toEqual(['users', HOSTILE]);
  });

  it('sets group membership idempotently: a repeated event changes nothing twice', async () => {
    const { otds, client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.access.approved'],
      plan: (event) => {
        const userId = (event.data as { beneficiary?: string }).beneficiary;
        return userId === undefined
          ? undefined
          : { userId, addToGroups: ['Finance@Users'], removeFromGroups: ['Temp@Users', 'Admins@Users'] };
      },
    });
    const event = approved('alice@Users');
    expect(await writeBack.write(event)).toEqual({ status: 'written', reference: 'alice@Users' });
    expect(otds.state.groupsOfUser('alice@Users')).toEqual(['Finance@Users']);
    const post = otds.requests.find((request) => request.method === 'POST' && request.segments[2] === 'memberof');
    expect(JSON.parse(post?.body ?? '')).toEqual({ stringList: ['Finance@Users'] });
    const del = otds.requests.find((request) => request.method === 'DELETE');
    expect(JSON.parse(del?.body ?? '')).toEqual({ stringList: ['Temp@Users'] });
    const writes = otds.requests.filter((request) => request.method !== 'GET').length;
    expect(await writeBack.write(event)).toEqual({ status: 'skipped', reason: 'OTDS already holds this outcome' });
    expect(otds.requests.filter((request) => request.method !== 'GET').length).toBe(writes);
  });

  it('reports a missing user or group as a final failure', async () => {
    const { client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.notification.acknowledged', 'idrelay.access.approved'],
      plan: (event) =>
        event.type === 'idrelay.access.approved'
          ? { userId: 'alice@Users', addToGroups: ['Nope@Users'] }
          : { userId: 'ghost@Users', attributes: { oTExtraAttr1: ['x'] } },
    });
    expect(await writeBack.write(acknowledged('ghost@Users'))).toMatchObject({
      status: 'failed',
      code: 'ERR_OTDS_NOT_FOUND',
      retryable: false,
    });
    expect(await writeBack.write(approved('alice@Users'))).toMatchObject({
      status: 'failed',
      code: 'ERR_OTDS_NOT_FOUND',
    });
  });

  it('reports an OTDS outage as retryable, for the relay to retry with backoff', async () => {
    const { otds, client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.notification.acknowledged'],
      plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }),
    });
    otds.fail({ status: 503, path: '/rest/users', times: 4 });
    expect(await writeBack.write(acknowledged('alice@Users'))).toMatchObject({
      status: 'failed',
      code: 'ERR_OTDS_UNAVAILABLE',
      retryable: true,
    });
    expect(await writeBack.write(acknowledged('alice@Users'))).toMatchObject({ status: 'written' });
  });

  it('refuses plans with bad attribute names or values before sending anything', async () => {
    const { otds, client } = setup();
    const plans = [
      { userId: 'alice@Users', attributes: { 'mail\r\nX-Injected': ['x'] } },
      { userId: 'alice@Users', attributes: JSON.parse('{"__proto__": ["x"]}') as Record<string, string[]> },
      { userId: 'alice@Users', attributes: { mail: 'not-a-list' as never } },
      { userId: '', attributes: { mail: ['x'] } },
      { userId: 'alice@Users', addToGroups: [''] },
    ];
    for (const plan of plans) {
      const writeBack = createOtdsWriteBack({ client, types: ['idrelay.notification.acknowledged'], plan: () => plan });
      expect(await writeBack.write(acknowledged('alice@Users'))).toMatchObject({
        status: 'failed',
        code: 'ERR_INVALID_ARGUMENT',
        retryable: false,
      });
    }
    expect(otds.requests.filter((request) => request.method !== 'GET' && request.segments[0] === 'users')).toEqual([]);
  });

  it('skips event types it does not handle and events without a plan', async () => {
    const { client } = setup();
    const writeBack = createOtdsWriteBack({
      client,
      types: ['idrelay.notification.acknowledged'],
      plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }),
    });
    expect((await writeBack.write(approved('alice@Users'))).status).toBe('skipped');
    expect(() => createOtdsWriteBack({ client, types: [], plan: () => undefined })).toThrow(/event type/);
  });
});

it('passes the relay abort signal through and rethrows the abort instead of reporting a failure', async () => {
  const { otds, client } = setup();
  const writeBack = createOtdsWriteBack({
    client,
    types: ['idrelay.notification.acknowledged'],
    plan: acknowledgementPlan({ attribute: 'oTExtraAttr1' }),
  });
  await client.getUser('alice@Users'); // logged in
  otds.fail({ hang: true, method: 'PATCH' });
  const controller = new AbortController();
  const pending = writeBack.write(acknowledged('alice@Users'), { signal: controller.signal });
  controller.abort(new Error('relay shutting down'));
  await expect(pending).rejects.toThrow('relay shutting down');
  expect(otds.state.users.get('alice@Users')?.attributes.has('oTExtraAttr1')).toBe(false);
});
