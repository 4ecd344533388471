/**
 * The durable way out, on every driver: what the relay tells the outside world is stored with the change that
 * caused it and reaches each write-back at least once, in order per subject, across a crash, with retries and
 * a dead letter — and retention removes what finished long ago without touching the audit chain.
 */
import { type IdentityEvent, type Store, verifyAuditChain, type WriteBack, type WriteBackResult } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];

/** A write-back that records what it was given and answers from a script. */
function recordingWriteBack(
  name: string,
  types: WriteBack['types'],
  answer: (event: IdentityEvent, call: number) => WriteBackResult | Promise<WriteBackResult> = () => ({
    status: 'written',
  }),
) {
  const received: IdentityEvent[] = [];
  let calls = 0;
  const writeBack: WriteBack = {
    name,
    types,
    async write(event) {
      calls++;
      const result = await answer(event, calls);
      if (result.status === 'written') received.push(event);
      return result;
    },
  };
  return { writeBack, received };
}

const rules = (_userId: string, n: number) => ({
  rules: [{ category: 'announcement', channel: '*' as const, enabled: n % 2 === 0 }],
});

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`write-backs on ${driver.name}`, () => {
    let store: Store;
    const scenarios: Scenario[] = [];
    afterEach(async () => {
      for (const s of scenarios.splice(0)) await s.relay.close();
      await store.close();
      await driver.cleanup(store);
    });
    const scenario = async (options: Parameters<typeof createScenario>[1]) => {
      const s = await createScenario(store, options);
      scenarios.push(s);
      return s;
    };

    it('loses nothing across a crash between the change and the write-back, and sends it once', async () => {
      store = await driver.create();
      const directory = recordingWriteBack('directory', ['idrelay.preference.changed']);
      const first = await scenario({ writeBacks: [directory.writeBack] });
      await first.relay.preferences.set('dave', rules('dave', 0), 'device');
      // The process dies before its pump runs: nothing was handed over yet.
      await first.relay.close();
      expect(directory.received).toEqual([]);

      const restarted = recordingWriteBack('directory', ['idrelay.preference.changed']);
      const second = await scenario({ writeBacks: [restarted.writeBack] });
      await second.relay.drain();
      await second.relay.drain();
      expect(restarted.received.map((e) => [e.type, (e.data as { userId: string }).userId])).toEqual([
        ['idrelay.preference.changed', 'dave'],
      ]);
      expect(await store.outgoing.counts('directory')).toMatchObject({ delivered: 1, pending: 0 });
    });

    it('delivers in order per subject while one subject is retried, and dead-letters after the bound', async () => {
      store = await driver.create();
      const iam = recordingWriteBack('iam', ['idrelay.preference.changed'], (event, call) => {
        const { userId } = event.data as { userId: string };
        if (userId === 'dave' && call <= 2)
          return { status: 'failed', code: 'HTTP_503', reason: 'busy', retryable: true };
        if (userId === 'bob') return { status: 'failed', code: 'HTTP_400', reason: 'schema', retryable: false };
        return { status: 'written' };
      });
      const s = await scenario({ writeBacks: [iam.writeBack], writeBackRetry: { baseMs: 1_000, maxAttempts: 5 } });
      await s.relay.preferences.set('dave', rules('dave', 1));
      await s.relay.preferences.set('dave', rules('dave', 2));
      await s.relay.preferences.set('bob', rules('bob', 1));
      await s.relay.preferences.set('carol', rules('carol', 1));
      await s.relay.drain();
      // carol passed; dave's head is waiting for its retry and his second change waits behind it; bob is dead.
      expect(iam.received.map((e) => (e.data as { userId: string }).userId)).toEqual(['carol']);
      for (let i = 0; i < 5; i++) {
        s.clock.advance(60_000);
        await s.relay.drain();
      }
      const dave = iam.received.filter((e) => (e.data as { userId: string }).userId === 'dave');
      expect(dave.map((e) => (e.data as { changes: Array<{ enabled: boolean }> }).changes[0]?.enabled)).toEqual([
        false,
        true,
      ]);
      expect(await store.outgoing.counts('iam')).toEqual({ pending: 0, claimed: 0, delivered: 3, dead: 1 });
      const [dead] = await store.outgoing.list({ consumer: 'iam', status: 'dead', limit: 10 });
      expect(dead).toMatchObject({ lastError: { code: 'HTTP_400' }, event: { data: { userId: 'bob' } } });
      const audit = await store.audit.list({ limit: 200 });
      expect(audit.some((a) => a.action === 'outgoing.dead-lettered' && a.target === 'iam')).toBe(true);
    });

    it('stores receipts for a subscriber with the settle, once per delivery', async () => {
      store = await driver.create();
      const receipts = recordingWriteBack('receipts', [
        'idrelay.notification.delivered',
        'idrelay.notification.failed',
      ]);
      const s = await scenario({ writeBacks: [receipts.writeBack] });
      s.transports.fcm.script = (t) =>
        t.deviceId === 'bob-pixel'
          ? { deviceId: t.deviceId, status: 'rejected', code: 'ERR_FCM_REJECTED', reason: 'INVALID_ARGUMENT' }
          : { deviceId: t.deviceId, status: 'delivered' };
      await s.relay.ingest(
        createEvent(
          'idrelay.announcement.published',
          { announcementId: 'r', title: 't', body: 'b', audience: { kind: 'users', userIds: ['dave', 'bob'] } },
          { source: '/ops', id: 'receipts' },
        ),
      );
      await s.relay.drain();
      const seen = receipts.received.map((e) => [e.type, (e.data as { deviceId: string }).deviceId]).sort();
      expect(seen).toEqual([
        ['idrelay.notification.delivered', 'dave-pixel'],
        ['idrelay.notification.failed', 'bob-pixel'],
      ]);
      expect(new Set(receipts.received.map((e) => e.id)).size).toBe(2);
    });

    it('prunes what finished long ago and never the audit chain', async () => {
      store = await driver.create();
      const s = await scenario({});
      await s.relay.ingest(
        createEvent(
          'idrelay.account.locked',
          { userId: 'dave', reason: 'risk' },
          { source: '/t', id: 'old', time: new Date(T0).toISOString() },
        ),
      );
      await s.relay.drain();
      await expect(s.relay.ingest({ nonsense: true })).rejects.toMatchObject({ code: 'ERR_EVENT_INVALID' });
      expect((await s.relay.prune()).deliveries).toBe(0);
      s.clock.advance(31 * 86_400_000);
      const pruned = await s.relay.prune();
      expect(pruned).toMatchObject({ deliveries: 1, rejectedEvents: 1, events: 1 });
      expect(await store.outbox.listByEvent('/t#old')).toEqual([]);
      const audit = await store.audit.list({ limit: 1_000 });
      expect(verifyAuditChain(audit)).toBeUndefined();
      expect(audit[0]?.seq).toBe(1);
      expect(audit.at(-1)?.action).toBe('retention.pruned');
    });
  });
}
