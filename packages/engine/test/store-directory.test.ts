/**
 * A relay whose directory lives in its own store: users, groups and approvers written through
 * `createStoreDirectory()`, then events delivered to attribute audiences, resource approvers (through nested
 * groups with a cycle) and subjects — the deployment without LDAP or SCIM.
 */
import type { Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStoreDirectory, type StoreDirectory } from '../src/index.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

let counter = 0;
const source = { source: 'https://iam.example.com/store-directory', time: new Date(T0).toISOString() };

async function seed(directory: StoreDirectory): Promise<void> {
  await directory.putUser({
    id: 'alice',
    locale: 'de-CH',
    timeZone: 'Europe/Zurich',
    managerId: 'carol',
    subjects: [{ format: 'email', email: 'alice@example.com' }],
    attributes: { department: 'finance', location: 'zurich' },
  });
  await directory.putUser({ id: 'bob', attributes: { department: 'finance', role: 'approver' } });
  await directory.putUser({ id: 'carol', attributes: { department: ['finance', 'management'] } });
  // Dave moved to finance here (the scenario's own directory has him in IT).
  await directory.putUser({ id: 'dave', managerId: 'carol', attributes: { department: 'finance' } });
  await directory.putUser({ id: 'erin', attributes: { department: 'security' } });
  await directory.putUser({ id: 'frank', attributes: { department: 'security' } });
  // Judy left: her account is deactivated, so no audience reaches her devices any more.
  await directory.putUser({ id: 'judy', active: false, attributes: { department: 'finance' } });
  for (const id of ['soc', 'soc-oncall']) await directory.putGroup({ id });
  await directory.addMembers('soc', { users: ['erin'], groups: ['soc-oncall'] });
  await directory.addMembers('soc-oncall', { users: ['frank', 'judy'], groups: ['soc'] });
  await directory.setApprovers('app-erp', { users: ['bob'], groups: ['soc'] });
}

describe('a relay on createStoreDirectory (memory store)', () => {
  let store: Store;
  let s: Scenario;
  beforeEach(async () => {
    store = createMemoryStore();
    const directory = createStoreDirectory(store, { pageSize: 2 });
    await seed(directory);
    s = await createScenario(store, { directory });
  });
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  async function deliver(input: unknown): Promise<string[]> {
    s.reset();
    await s.relay.ingest(input);
    await s.relay.drain();
    return s.received();
  }

  it('delivers an announcement to an attribute audience, active users only, across store pages', async () => {
    const announcement = createEvent(
      'idrelay.announcement.published',
      {
        announcementId: 'close-q4',
        title: 'Quarter close',
        body: 'Books close on Friday.',
        audience: { kind: 'attributes', filter: { department: ['finance', 'security'] } },
      },
      { ...source, id: `e-${++counter}` },
    );
    expect(await deliver(announcement)).toEqual([
      'alice-browser',
      'alice-iphone',
      'bob-pixel',
      'carol-iphone',
      'dave-pixel',
      'erin-pixel',
      'frank-browser',
    ]);
  });

  it("delivers an access request to the resource's approvers: named users and nested groups, through a cycle", async () => {
    const request = createEvent(
      'idrelay.access.requested',
      { requestId: 'req-1', requester: { id: 'dave' }, resource: { id: 'app-erp', name: 'ERP' } },
      { ...source, id: `e-${++counter}` },
    );
    expect(await deliver(request)).toEqual(['bob-pixel', 'erin-pixel', 'frank-browser']);
    const { message } = s.transports.fcm.sent.find((sent) => sent.target.deviceId === 'bob-pixel')!;
    expect(message.actions?.map((a) => a.id)).toEqual(['approve', 'deny']);
  });

  it('follows directory writes: a member added to a nested group becomes an approver, a removed user is gone', async () => {
    const directory = createStoreDirectory(store);
    await directory.putUser({ id: 'ivan', attributes: {} });
    await directory.addMembers('soc-oncall', { users: ['ivan'] });
    await directory.removeUser('bob');
    const request = createEvent(
      'idrelay.access.requested',
      { requestId: 'req-2', requester: { id: 'dave' }, resource: { id: 'app-erp' } },
      { ...source, id: `e-${++counter}` },
    );
    expect(await deliver(request)).toEqual(['erin-pixel', 'frank-browser', 'ivan-iphone']);
  });

  it('finds the user an event names by subject identifier', async () => {
    const denied = createEvent(
      'idrelay.access.denied',
      { requestId: 'req-3', approver: { id: 'bob' }, decidedAt: new Date(T0).toISOString() },
      { ...source, id: `e-${++counter}`, idrelaysubject: { format: 'email', email: 'Alice@Example.com' } },
    );
    expect(await deliver(denied)).toEqual(['alice-browser', 'alice-iphone']);
  });
});
