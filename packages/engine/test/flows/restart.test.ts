/**
 * A flow outlives its process: closed mid-flow and reopened on the same store (memory, a SQLite file,
 * PostgreSQL), its reminders fire exactly once each and its expiry still comes; a decision whose write-back had
 * not gone out when the process died reaches the IAM system once after the restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@idrelay/core';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryStore } from '@idrelay/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { accessApprovalFlow } from '../../src/index.js';
import { drivers } from '../support/drivers.js';
import { T0 } from '../support/scenario.js';
import { actionable, flowScenario, recordingWriteBack, verified } from './support.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'idrelay-flows-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Target {
  name: string;
  available: boolean;
  create(): Promise<Store>;
  /** The same database in a new process; the old store is closed first. */
  reopen(previous: Store): Promise<Store>;
  cleanup(store: Store): Promise<void>;
}

const memory = createMemoryStore;
const targets: Target[] = [
  // The memory store is the database itself: a restarted relay gets the same object, as a process gets its file.
  { name: 'memory', available: true, create: async () => memory(), reopen: async (s) => s, cleanup: async () => {} },
  {
    name: 'sqlite (file)',
    available: true,
    create: async () => createSqliteStore({ path: join(dir, `flows-${++files}.db`) }),
    reopen: async () => createSqliteStore({ path: join(dir, `flows-${files}.db`) }),
    cleanup: async () => {},
  },
  {
    name: 'postgres',
    available: drivers[1]!.available,
    create: () => drivers[1]!.create(),
    reopen: (previous) => drivers[1]!.reopen(previous),
    cleanup: (store) => drivers[1]!.cleanup(store),
  },
];

const flows = () => ({
  definitions: [
    accessApprovalFlow({ remindAfterMs: HOUR, remindEveryMs: HOUR, maxReminders: 2, expireAfterMs: 5 * HOUR }),
  ],
});
const request = { requestId: 'req-r', requester: { id: 'alice' }, resource: { id: 'app-erp' } };
const TYPES = ['idrelay.access.approved', 'idrelay.access.denied', 'idrelay.access.expired'] as const;

for (const target of targets) {
  describe.skipIf(!target.available)(`flows across a restart on ${target.name}`, () => {
    it('fires each reminder exactly once and expires on time after restarts mid-flow', async () => {
      let store = await target.create();
      const iam = recordingWriteBack('iam', [...TYPES]);
      const first = await flowScenario(store, { flows: flows(), writeBacks: [iam.writeBack] });
      const flow = await first.relay.flows.start('access-approval', 'req-r', request);
      await first.relay.drain();
      expect(actionable(first).map((p) => p.deviceId)).toEqual(['bob-pixel']);
      await first.relay.close();
      store = await reopenFrom(target, store);

      // Process 2 comes up after the first reminder is due; its relay fires it once, however often it drains.
      const second = await flowScenario(store, { flows: flows(), writeBacks: [iam.writeBack] });
      second.clock.set(T0 + HOUR);
      await second.relay.start();
      await second.relay.drain();
      await second.relay.drain();
      expect(actionable(second).map((p) => p.deviceId)).toEqual(['bob-pixel']);
      await second.relay.close();
      store = await reopenFrom(target, store);

      // Process 3, still inside the first hour after the reminder: nothing more; then the second reminder once.
      const third = await flowScenario(store, { flows: flows(), writeBacks: [iam.writeBack] });
      third.clock.set(T0 + HOUR + 30 * 60_000);
      await third.relay.drain();
      expect(actionable(third)).toEqual([]);
      third.clock.set(T0 + 2 * HOUR);
      await third.relay.drain();
      await third.relay.drain();
      expect(actionable(third).map((p) => p.deviceId)).toEqual(['bob-pixel']);
      third.clock.set(T0 + 4 * HOUR);
      await third.relay.drain();
      expect(actionable(third)).toHaveLength(1); // max 2 reminders
      expect(await third.relay.flows.get(flow.id)).toMatchObject({ state: 'running', reminders: 2 });
      third.clock.set(T0 + 5 * HOUR);
      await third.relay.drain();
      expect(await third.relay.flows.get(flow.id)).toMatchObject({ state: 'expired', reason: 'timeout' });
      expect(iam.received.map((e) => e.type)).toEqual(['idrelay.access.expired']);
      await third.relay.close();
      await store.close();
      await target.cleanup(store);
    });

    it('delivers a decision to the write-back once after a crash between the decision and the write-back', async () => {
      let store = await target.create();
      const before = recordingWriteBack('iam', [...TYPES]);
      const first = await flowScenario(store, { flows: flows(), writeBacks: [before.writeBack] });
      const flow = await first.relay.flows.start('access-approval', 'req-r', request);
      await first.relay.drain();
      const push = actionable(first)[0]!;
      const verdict = await first.relay.flows.handler.apply(
        verified(push, 'bob', 'bob-pixel', 'approve', first.clock.now()),
      );
      expect(verdict).toMatchObject({ status: 'applied', state: 'approved' });
      // The process dies before its outgoing pump runs.
      await first.relay.close();
      expect(before.received).toEqual([]);
      store = await reopenFrom(target, store);

      const after = recordingWriteBack('iam', [...TYPES]);
      const second = await flowScenario(store, { flows: flows(), writeBacks: [after.writeBack] });
      await second.relay.drain();
      await second.relay.drain();
      expect(after.received.map((e) => [e.type, e.id, (e.data as { approver: { id: string } }).approver.id])).toEqual([
        ['idrelay.access.approved', expect.stringContaining(flow.id), 'bob'],
      ]);
      expect(await store.outgoing.counts('iam')).toMatchObject({ delivered: 1, pending: 0 });
      await second.relay.close();
      await store.close();
      await target.cleanup(store);
    });
  });
}

async function reopenFrom(target: Target, store: Store): Promise<Store> {
  if (target.name === 'memory') return store;
  await store.close();
  return target.reopen(store);
}
