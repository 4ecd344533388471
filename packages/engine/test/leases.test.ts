/**
 * Dispatch under a slow provider, driven by fake timers as in production: a batch is extended while in flight
 * and never re-claimed by its own relay; a send never outlives its claim; a second worker's late outcome cannot
 * undo the first's; and a verification overtakes a fan-out that fills every bulk slot.
 */
import type { DeliveryResult, Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { globalScheduler } from '../src/index.js';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';
import { trackStore } from './support/tracked-store.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];
const systemTime = { now: () => Date.now() };
let n = 0;
const everyone = () =>
  createEvent(
    'idrelay.announcement.published',
    { announcementId: `a-${++n}`, title: 'All hands', body: 'b', audience: { kind: 'group', groupId: 'all' } },
    { source: '/ops', id: `l-${n}` },
  );
const verification = () =>
  createEvent(
    'idrelay.auth.verification.requested',
    {
      verificationId: `v-${++n}`,
      userId: 'dave',
      application: { id: 'erp' },
      numberMatch: { code: '12' },
      expiresAt: new Date(Date.now() + 120_000).toISOString(),
    },
    { source: '/idp', id: `v-${n}` },
  );

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`leases and lanes on ${driver.name}`, () => {
    let store: Store;
    let tracked: ReturnType<typeof trackStore>;
    const scenarios: Scenario[] = [];
    // setImmediate stays real, so waiting for a PostgreSQL round trip never moves fake time.
    const fake = () =>
      vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const open = async () => {
      store = await driver.create();
      tracked = trackStore(store);
    };
    /** Moves fake time by `ms` in slices, letting the store's real I/O finish after each. */
    const step = async (ms: number, slice = 100) => {
      await tracked.quiet();
      for (let done = 0; done < ms; done += slice) {
        await vi.advanceTimersByTimeAsync(Math.min(slice, ms - done));
        await tracked.quiet();
      }
      await vi.advanceTimersByTimeAsync(0);
      await tracked.quiet();
    };
    afterEach(async () => {
      for (const s of scenarios.splice(0)) await s.relay.close();
      await store.close();
      await driver.cleanup(store);
      vi.useRealTimers();
    });

    async function scenario(options: Parameters<typeof createScenario>[1]) {
      const s = await createScenario(tracked.store, {
        clock: systemTime,
        scheduler: globalScheduler,
        pollMs: 1_000,
        ...options,
      });
      scenarios.push(s);
      return s;
    }

    it('extends the lease of a batch while a slow provider answers, and sends each push once', async () => {
      fake();
      await open();
      const s = await scenario({ leaseMs: 5_000, concurrency: 4, batchSize: 1 });
      let release!: () => void;
      s.transports.fcm.gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      await s.relay.start();
      await s.relay.ingest(everyone());
      // The provider answers after 12 s, more than twice the lease.
      await step(12_000);
      release();
      s.transports.fcm.gate = undefined;
      await step(2_000);
      await s.relay.drain();
      const fcm = s.transports.fcm.sent.map((p) => p.target.deviceId).sort();
      expect(fcm).toEqual(['bob-pixel', 'dave-pixel', 'erin-pixel', 'judy-pixel']);
      expect(await store.outbox.counts()).toMatchObject({ delivered: 9, pending: 0, claimed: 0 });
      const attempts = (await store.outbox.listByEvent(`/ops#l-${n}`)).map((d) => d.attempts);
      expect(Math.max(...attempts)).toBe(1);
    });

    it('aborts unanswered sends before the lease could lapse when it cannot be extended', async () => {
      fake();
      await open();
      const s = await scenario({ leaseMs: 5_000, concurrency: 1, batchSize: 10, retry: { baseMs: 60_000 } });
      const extend = store.outbox.extendLease.bind(store.outbox);
      store.outbox.extendLease = async () => {
        throw new Error('database unreachable');
      };
      s.transports.fcm.gate = new Promise<void>(() => {});
      await s.relay.start();
      await s.relay.ingest(everyone());
      await step(4_600);
      // The sends were aborted ahead of the lease end and settled as retries while the claim still held.
      const fcm = (await store.outbox.listByEvent(`/ops#l-${n}`)).filter((d) => d.platform === 'fcm');
      expect(fcm.map((d) => d.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
      expect(fcm.every((d) => d.lastError?.code === 'ERR_TRANSPORT_TIMEOUT')).toBe(true);
      store.outbox.extendLease = extend;
    });

    it("lets a second worker's outcome stand when the first one answers after its lease", async () => {
      fake();
      await open();
      const first = await scenario({ leaseMs: 5_000, concurrency: 1, batchSize: 10 });
      await first.relay.ingest(
        createEvent('idrelay.account.locked', { userId: 'dave', reason: 'risk' }, { source: '/t', id: 'one' }),
      );
      // The first worker claims and stalls (a paused VM: no heartbeat, no deadline), then answers late.
      const [claimed] = await store.outbox.claim({ limit: 1, now: Date.now(), leaseMs: 5_000, platforms: ['fcm'] });
      await step(6_000, 1_000);
      const second = await scenario({ leaseMs: 5_000 });
      await second.relay.start();
      await step(0);
      expect(second.transports.fcm.sent.map((p) => p.target.deviceId)).toEqual(['dave-pixel']);
      const late = await store.outbox.settle([
        { id: claimed!.id, claimToken: claimed!.claimToken!, status: 'dead', error: { code: 'LATE' }, at: Date.now() },
      ]);
      expect(late.stale).toEqual([claimed!.id]);
      expect(await store.outbox.get(claimed!.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    });

    it('claims and sends a verification at once while a fan-out fills every bulk slot', async () => {
      fake();
      await open();
      const s = await scenario({ concurrency: 1, batchSize: 1 });
      const held: Array<() => void> = [];
      s.transports.fcm.sendEach = async (requests, options) => {
        if (options?.priority !== 'high') await new Promise<void>((resolve) => held.push(resolve));
        for (const r of requests)
          s.transports.fcm.sent.push({ message: r.message, target: r.target, priority: options?.priority ?? 'normal' });
        return requests.map((r): DeliveryResult => ({ deviceId: r.target.deviceId, status: 'delivered' }));
      };
      await s.relay.start();
      await s.relay.ingest(everyone());
      await step(0);
      expect(held).toHaveLength(1);
      await s.relay.ingest(verification());
      await step(0);
      expect(s.transports.fcm.sent.map((p) => [p.target.deviceId, p.priority])).toEqual([['dave-pixel', 'high']]);
      while (held.length > 0) {
        held.shift()!();
        await step(0);
      }
      await s.relay.drain();
      expect(s.transports.fcm.sent).toHaveLength(5);
    });
  });
}
