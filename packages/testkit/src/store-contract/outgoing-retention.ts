import type { IdentityEvent, OutgoingInput } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDelivery, contractEvent, contractToken, enqueueWithDevices, T0, together } from './fixtures.js';

const LEASE = 10_000;

/** An outgoing entry for `consumer` about `orderKey`; `n` makes the event id unique. */
function entry(n: number, orderKey: string, consumer = 'iam-writeback'): OutgoingInput {
  const event = contractEvent(`out-${n}`, '/idrelay/relay') as IdentityEvent;
  return { consumer, orderKey, event };
}

const eventIds = (entries: ReadonlyArray<{ event: IdentityEvent }>) => entries.map((e) => e.event.id);

/** The outgoing log (at least once, in order per key, fenced, dead letters) and retention. */
export function describeOutgoingAndRetention(ctx: ContractContext): void {
  describe('outgoing log', () => {
    it('hands entries out oldest first, one per order key at a time, per consumer', async () => {
      await ctx.store.outgoing.append(
        [entry(1, 'alice'), entry(2, 'alice'), entry(3, 'bob'), entry(4, 'carol', 'webhook-1')],
        T0,
      );
      const first = await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 10, now: T0, leaseMs: LEASE });
      expect(eventIds(first)).toEqual(['out-1', 'out-3']);
      expect(first[0]).toMatchObject({ status: 'claimed', attempts: 1, leaseUntil: T0 + LEASE, orderKey: 'alice' });
      // alice's second entry waits for her first; bob has nothing more.
      expect(await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 10, now: T0, leaseMs: LEASE })).toEqual(
        [],
      );
      const token = first[0]!.claimToken!;
      await ctx.store.outgoing.settle(
        first.map((e) => ({ id: e.id, claimToken: token, status: 'delivered', at: T0 + 1 })),
      );
      const next = await ctx.store.outgoing.claim({
        consumer: 'iam-writeback',
        limit: 10,
        now: T0 + 1,
        leaseMs: LEASE,
      });
      expect(eventIds(next)).toEqual(['out-2']);
      expect(
        eventIds(await ctx.store.outgoing.claim({ consumer: 'webhook-1', limit: 10, now: T0, leaseMs: LEASE })),
      ).toEqual(['out-4']);
      expect(await ctx.store.outgoing.counts('iam-writeback')).toEqual({
        pending: 0,
        claimed: 1,
        delivered: 2,
        dead: 0,
      });
      expect(await ctx.store.outgoing.counts()).toEqual({ pending: 0, claimed: 2, delivered: 2, dead: 0 });
    });

    it('keeps a key waiting while its head is retried, and lets other keys pass', async () => {
      await ctx.store.outgoing.append([entry(1, 'alice'), entry(2, 'alice'), entry(3, 'bob')], T0);
      const [head, bob] = await ctx.store.outgoing.claim({
        consumer: 'iam-writeback',
        limit: 10,
        now: T0,
        leaseMs: LEASE,
      });
      await ctx.store.outgoing.settle([
        {
          id: head!.id,
          claimToken: head!.claimToken!,
          status: 'retry',
          dueAt: T0 + 5_000,
          error: { code: 'ERR_CONSUMER_FAILED', reason: '503' },
          at: T0,
        },
        { id: bob!.id, claimToken: bob!.claimToken!, status: 'delivered', at: T0 },
      ]);
      expect(
        await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 10, now: T0 + 4_999, leaseMs: LEASE }),
      ).toEqual([]);
      expect(await ctx.store.outgoing.nextDueAt('iam-writeback')).toBe(T0 + 5_000);
      const [again] = await ctx.store.outgoing.claim({
        consumer: 'iam-writeback',
        limit: 10,
        now: T0 + 5_000,
        leaseMs: LEASE,
      });
      expect(again).toMatchObject({ event: { id: 'out-1' }, attempts: 2, lastError: { code: 'ERR_CONSUMER_FAILED' } });
    });

    it('delivers at least once: a consumer that crashed mid-call gets the entry again after the lease', async () => {
      await ctx.store.outgoing.append([entry(1, 'alice')], T0);
      const [taken] = await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 1, now: T0, leaseMs: LEASE });
      expect(
        await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 1, now: T0 + LEASE - 1, leaseMs: LEASE }),
      ).toEqual([]);
      expect(await ctx.store.outgoing.nextDueAt()).toBe(T0 + LEASE);
      const [retaken] = await ctx.store.outgoing.claim({
        consumer: 'iam-writeback',
        limit: 1,
        now: T0 + LEASE,
        leaseMs: LEASE,
      });
      expect(retaken).toMatchObject({ id: taken!.id, attempts: 2, event: { id: 'out-1' } });
      const late = await ctx.store.outgoing.settle([
        { id: taken!.id, claimToken: taken!.claimToken!, status: 'dead', error: { code: 'LATE' }, at: T0 + LEASE + 1 },
      ]);
      expect(late).toEqual({ settled: 0, stale: [taken!.id] });
      expect(
        await ctx.store.outgoing.settle([
          { id: retaken!.id, claimToken: retaken!.claimToken!, status: 'delivered', at: T0 + LEASE + 2 },
        ]),
      ).toEqual({ settled: 1, stale: [] });
      expect(await ctx.store.outgoing.counts('iam-writeback')).toMatchObject({ delivered: 1, dead: 0 });
    });

    it('never hands one entry to two concurrent claims', async () => {
      await ctx.store.outgoing.append(
        Array.from({ length: 100 }, (_, n) => entry(n, `key-${n}`)),
        T0,
      );
      const batches = await together(ctx.concurrency, () =>
        ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 5, now: T0, leaseMs: LEASE }),
      );
      const ids = batches.flat().map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(Math.min(100, ctx.concurrency * 5));
    });

    it('keeps dead letters for an operator, who can redrive them', async () => {
      await ctx.store.outgoing.append([entry(1, 'alice'), entry(2, 'alice')], T0);
      const [head] = await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 10, now: T0, leaseMs: LEASE });
      await ctx.store.outgoing.settle([
        {
          id: head!.id,
          claimToken: head!.claimToken!,
          status: 'dead',
          error: { code: 'ERR_CONSUMER_FAILED', reason: '400' },
          at: T0 + 1,
        },
      ]);
      const dead = await ctx.store.outgoing.list({ consumer: 'iam-writeback', status: 'dead', limit: 10 });
      expect(dead).toEqual([
        expect.objectContaining({
          id: head!.id,
          status: 'dead',
          lastError: { code: 'ERR_CONSUMER_FAILED', reason: '400' },
        }),
      ]);
      // A dead head no longer blocks its key.
      expect(
        eventIds(await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 10, now: T0 + 1, leaseMs: LEASE })),
      ).toEqual(['out-2']);
      expect(await ctx.store.outgoing.redrive([head!.id, 'unknown'], T0 + 2)).toBe(1);
      expect(await ctx.store.outgoing.list({ consumer: 'iam-writeback', status: 'dead', limit: 10 })).toEqual([]);
      const all = await ctx.store.outgoing.list({ consumer: 'iam-writeback', limit: 10 });
      expect(all.map((e) => e.status)).toEqual(['pending', 'claimed']);
      expect(await ctx.store.outgoing.list({ consumer: 'iam-writeback', afterId: all[0]!.id, limit: 10 })).toHaveLength(
        1,
      );
    });

    it('appends entries with a preference change, in the same write', async () => {
      const event = contractEvent('pref-1', '/idrelay/relay');
      await ctx.store.preferences.put(
        { userId: 'alice', rules: [], updatedAt: T0 },
        { emit: [{ consumer: 'directory', orderKey: 'alice', event }] },
      );
      const [listed] = await ctx.store.outgoing.list({ consumer: 'directory', limit: 10 });
      expect(listed).toMatchObject({ status: 'pending', orderKey: 'alice', dueAt: T0, event });
    });
  });

  describe('retention', () => {
    it('prunes settled deliveries and unused messages, and keeps live ones and the audit chain', async () => {
      await enqueueWithDevices(ctx.store, [
        contractDelivery(1),
        contractDelivery(2),
        contractDelivery(3, {
          notificationId: 'notification-2',
          message: { id: 'notification-2', urgency: 'normal', title: 'two' },
        }),
      ]);
      await ctx.store.audit.append([{ at: T0, action: 'delivery.delivered', actor: 'system' }]);
      const batch = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const one = batch.find((d) => d.deviceId === 'device-1')!;
      const three = batch.find((d) => d.deviceId === 'device-3')!;
      await ctx.store.outbox.settle([
        { id: one.id, claimToken: one.claimToken!, status: 'delivered', at: T0 + 1 },
        { id: three.id, claimToken: three.claimToken!, status: 'failed', error: { code: 'X' }, at: T0 + 1 },
      ]);
      expect((await ctx.store.retention.prune({ deliveries: T0 + 1 }, 100)).deliveries).toBe(0);
      expect((await ctx.store.retention.prune({ deliveries: T0 + 2 }, 100)).deliveries).toBe(2);
      // Messages go once no delivery uses them and they are older than the cut-off (the store stamps them).
      const later = await ctx.store.retention.prune({ deliveries: Number.MAX_SAFE_INTEGER }, 100);
      expect(later).toMatchObject({ deliveries: 0, messages: 1 });
      expect(await ctx.store.outbox.get(one.id)).toBeUndefined();
      const live = batch.find((d) => d.deviceId === 'device-2')!;
      expect(await ctx.store.outbox.get(live.id)).toMatchObject({
        status: 'claimed',
        message: { title: 'Account locked' },
      });
      expect((await ctx.store.audit.list({ limit: 10 })).length).toBe(1);
      // The pair can be planned again after its history is gone (a re-plan long after is a new delivery).
      expect((await ctx.store.outbox.enqueue([contractDelivery(1)])).inserted).toBe(1);
    });

    it('prunes in bounded batches', async () => {
      await enqueueWithDevices(
        ctx.store,
        Array.from({ length: 5 }, (_, n) => contractDelivery(n)),
      );
      const batch = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      await ctx.store.outbox.settle(
        batch.map((d) => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered' as const, at: T0 })),
      );
      expect((await ctx.store.retention.prune({ deliveries: T0 + 1 }, 2)).deliveries).toBe(2);
      expect((await ctx.store.retention.prune({ deliveries: T0 + 1 }, 2)).deliveries).toBe(2);
      expect((await ctx.store.retention.prune({ deliveries: T0 + 1 }, 2)).deliveries).toBe(1);
      expect((await ctx.store.retention.prune({ deliveries: T0 + 1 }, 2)).deliveries).toBe(0);
    });

    it('prunes rejected inputs, planned events, finished tokens and delivered outgoing entries by age', async () => {
      await ctx.store.events.recordRejected({ receivedAt: T0, code: 'ERR_EVENT_INVALID', reason: 'old', raw: '{}' });
      await ctx.store.events.recordRejected({
        receivedAt: T0 + 100,
        code: 'ERR_EVENT_INVALID',
        reason: 'new',
        raw: '{}',
      });
      const { key: planned } = await ctx.store.events.record(contractEvent('planned'), T0);
      await ctx.store.events.markPlanned(planned);
      const { key: unplanned } = await ctx.store.events.record(contractEvent('unplanned'), T0);
      await ctx.store.actionTokens.put(contractToken('used', { expiresAt: T0 + 1_000_000 }));
      await ctx.store.actionTokens.consume('used', T0 + 10);
      await ctx.store.actionTokens.put(contractToken('expired', { expiresAt: T0 + 20 }));
      await ctx.store.actionTokens.put(contractToken('fresh', { expiresAt: T0 + 1_000_000 }));
      await ctx.store.outgoing.append([entry(1, 'alice'), entry(2, 'bob')], T0);
      const [out] = await ctx.store.outgoing.claim({ consumer: 'iam-writeback', limit: 1, now: T0, leaseMs: LEASE });
      await ctx.store.outgoing.settle([{ id: out!.id, claimToken: out!.claimToken!, status: 'delivered', at: T0 + 5 }]);

      const cut = T0 + 50;
      const pruned = await ctx.store.retention.prune(
        { rejectedEvents: cut, events: cut, actionTokens: cut, outgoing: cut },
        100,
      );
      expect(pruned).toMatchObject({ rejectedEvents: 1, events: 1, actionTokens: 2, outgoing: 1 });
      expect((await ctx.store.events.listRejected(10)).map((r) => r.reason)).toEqual(['new']);
      expect(await ctx.store.events.get(planned)).toBeUndefined();
      expect((await ctx.store.events.get(unplanned))?.status).toBe('received');
      expect((await ctx.store.actionTokens.consume('fresh', T0 + 60)).status).toBe('ok');
      expect((await ctx.store.actionTokens.consume('used', T0 + 60)).status).toBe('unknown');
      expect(await ctx.store.outgoing.counts('iam-writeback')).toEqual({
        pending: 1,
        claimed: 0,
        delivered: 0,
        dead: 0,
      });
    });

    it('prunes removed devices once no delivery references them', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1)]);
      await ctx.store.devices.upsert({
        deviceId: 'lonely',
        userId: 'user-9',
        platform: 'fcm',
        token: 'token-lonely',
        createdAt: T0,
        updatedAt: T0,
      });
      await ctx.store.devices.remove('device-1');
      await ctx.store.devices.remove('lonely');
      const far = Number.MAX_SAFE_INTEGER;
      expect((await ctx.store.retention.prune({ devices: far }, 100)).devices).toBe(1);
      // The delivery to device-1 still shows where it went.
      const [delivery] = await ctx.store.outbox.listByEvent(contractDelivery(1).eventKey);
      expect(delivery).toMatchObject({ deviceId: 'device-1', userId: 'user-1' });
      // Re-registering a pruned or removed device id starts afresh.
      await ctx.store.devices.upsert({
        deviceId: 'lonely',
        userId: 'user-9',
        platform: 'fcm',
        token: 'token-lonely',
        createdAt: T0,
        updatedAt: T0,
      });
      expect(await ctx.store.devices.countByUser('user-9')).toBe(1);
    });
  });
}
