import type { Delivery } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDelivery, T0, together } from './fixtures.js';

const LEASE = 30_000;
/** Outlives every `now` a test uses, so no claim expires unless the test means it to. */
const LONG_LEASE = 3_600_000;
const ids = (deliveries: readonly Delivery[]) => deliveries.map((d) => d.deviceId);

/** The outbox: idempotent enqueue, claim order and leases, concurrent claims, settle, cancel, wake-up time. */
export function describeOutbox(ctx: ContractContext): void {
  describe('outbox', () => {
    it('enqueues each idempotency key once, across calls and within one batch', async () => {
      const first = await ctx.store.outbox.enqueue([1, 2, 3].map((n) => contractDelivery(n)));
      const again = await ctx.store.outbox.enqueue([
        ...[1, 2, 3].map((n) => contractDelivery(n)),
        contractDelivery(4),
        contractDelivery(4),
      ]);
      expect(first).toEqual({ inserted: 3 });
      expect(again).toEqual({ inserted: 1 });
      expect((await ctx.store.outbox.counts()).pending).toBe(4);
      expect(await ctx.store.outbox.enqueue([])).toEqual({ inserted: 0 });
    });

    it('stores a delivery whole: message, per-device target data, keys', async () => {
      const wanted = contractDelivery(1, { priority: 5 });
      await ctx.store.outbox.enqueue([wanted]);
      const [stored] = await ctx.store.outbox.listByEvent(wanted.eventKey);
      expect(stored).toMatchObject({ ...wanted, status: 'pending', attempts: 0 });
      expect(await ctx.store.outbox.get(stored!.id)).toEqual(stored);
      expect(await ctx.store.outbox.get('999999')).toBeUndefined();
      expect(await ctx.store.outbox.listByEvent('https://nowhere.example#0')).toEqual([]);
    });

    it('claims due deliveries by priority, then due time, and leaves future ones', async () => {
      await ctx.store.outbox.enqueue([
        contractDelivery('low-early', { dueAt: T0 - 2_000 }),
        contractDelivery('low-late', { dueAt: T0 - 1_000 }),
        contractDelivery('high-late', { dueAt: T0 - 500, priority: 10 }),
        contractDelivery('high-early', { dueAt: T0 - 900, priority: 10 }),
        contractDelivery('future', { dueAt: T0 + 60_000, priority: 100 }),
      ]);
      const claimed = await ctx.store.outbox.claim({ limit: 3, now: T0, leaseMs: LONG_LEASE });
      expect(ids(claimed)).toEqual(['device-high-early', 'device-high-late', 'device-low-early']);
      for (const d of claimed) expect(d).toMatchObject({ status: 'claimed', attempts: 1, leaseUntil: T0 + LONG_LEASE });

      const rest = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LONG_LEASE });
      expect(ids(rest)).toEqual(['device-low-late']);
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LONG_LEASE })).toEqual([]);
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0 + 60_000, leaseMs: LONG_LEASE }))).toEqual([
        'device-future',
      ]);
    });

    it('claims only the platforms asked for', async () => {
      await ctx.store.outbox.enqueue([
        contractDelivery('f', { platform: 'fcm' }),
        contractDelivery('a', { platform: 'apns' }),
        contractDelivery('w', { platform: 'webpush' }),
      ]);
      const claimed = await ctx.store.outbox.claim({
        limit: 10,
        now: T0,
        leaseMs: LEASE,
        platforms: ['apns', 'webpush'],
      });
      expect(ids(claimed).sort()).toEqual(['device-a', 'device-w']);
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE }))).toEqual(['device-f']);
    });

    it("claims a delivery again once a crashed worker's lease has expired", async () => {
      await ctx.store.outbox.enqueue([contractDelivery(1)]);
      const [first] = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE - 1, leaseMs: LEASE })).toEqual([]);
      const [again] = await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE, leaseMs: LEASE });
      expect(again).toMatchObject({ id: first!.id, status: 'claimed', attempts: 2, leaseUntil: T0 + 2 * LEASE });
    });

    it('never hands the same delivery to two concurrent claims', async () => {
      const total = 300;
      await ctx.store.outbox.enqueue(Array.from({ length: total }, (_, n) => contractDelivery(n)));
      const batches = await together(ctx.concurrency, () =>
        ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE }),
      );
      const claimed = batches.flat().map((d) => d.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length).toBe(Math.min(total, ctx.concurrency * 10));
      expect((await ctx.store.outbox.counts()).claimed).toBe(claimed.length);
    });

    it('settles claimed deliveries as delivered, retry, failed or dead', async () => {
      await ctx.store.outbox.enqueue([1, 2, 3, 4].map((n) => contractDelivery(n)));
      const claimed = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const byDevice = new Map(claimed.map((d) => [d.deviceId, d.id]));
      const id = (n: number) => byDevice.get(`device-${n}`)!;
      const error = { code: 'ERR_TRANSPORT_TIMEOUT', reason: 'no answer in 10 s' };
      await ctx.store.outbox.settle([
        { id: id(1), status: 'delivered', providerMessageId: 'projects/x/messages/1', at: T0 + 1 },
        { id: id(2), status: 'retry', dueAt: T0 + 5_000, error, at: T0 + 1 },
        { id: id(3), status: 'failed', error: { code: 'ERR_FCM_PAYLOAD_TOO_LARGE' }, at: T0 + 1 },
        { id: id(4), status: 'dead', error, at: T0 + 1 },
      ]);
      expect(await ctx.store.outbox.get(id(1))).toMatchObject({
        status: 'delivered',
        providerMessageId: 'projects/x/messages/1',
        updatedAt: T0 + 1,
      });
      expect(await ctx.store.outbox.get(id(2))).toMatchObject({
        status: 'pending',
        dueAt: T0 + 5_000,
        lastError: error,
      });
      expect(await ctx.store.outbox.get(id(3))).toMatchObject({
        status: 'failed',
        lastError: { code: 'ERR_FCM_PAYLOAD_TOO_LARGE' },
      });
      expect(await ctx.store.outbox.get(id(4))).toMatchObject({ status: 'dead', lastError: error });
      expect(await ctx.store.outbox.counts()).toEqual({
        pending: 1,
        claimed: 0,
        delivered: 1,
        failed: 1,
        dead: 1,
        cancelled: 0,
      });

      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + 4_999, leaseMs: LEASE })).toEqual([]);
      const [retried] = await ctx.store.outbox.claim({ limit: 10, now: T0 + 5_000, leaseMs: LEASE });
      expect(retried).toMatchObject({ id: id(2), attempts: 2, status: 'claimed' });
    });

    it('ignores an outcome for a delivery that is not claimed', async () => {
      await ctx.store.outbox.enqueue([contractDelivery(1), contractDelivery(2)]);
      const [claimed] = await ctx.store.outbox.claim({ limit: 1, now: T0, leaseMs: LEASE });
      const [pending] = (await ctx.store.outbox.listByEvent(claimed!.eventKey)).filter((d) => d.id !== claimed!.id);
      await ctx.store.outbox.settle([{ id: claimed!.id, status: 'delivered', at: T0 + 1 }]);
      await ctx.store.outbox.settle([
        { id: claimed!.id, status: 'dead', error: { code: 'LATE' }, at: T0 + 2 },
        { id: pending!.id, status: 'delivered', at: T0 + 2 },
        { id: '424242', status: 'delivered', at: T0 + 2 },
      ]);
      expect((await ctx.store.outbox.get(claimed!.id))?.status).toBe('delivered');
      expect((await ctx.store.outbox.get(pending!.id))?.status).toBe('pending');
    });

    it('cancels the live deliveries of a notification, and only those', async () => {
      await ctx.store.outbox.enqueue([
        contractDelivery(1),
        contractDelivery(2),
        contractDelivery(3),
        contractDelivery(4, { notificationId: 'notification-2', dueAt: T0 + 1 }),
      ]);
      const [done, inFlight] = await ctx.store.outbox.claim({ limit: 2, now: T0, leaseMs: LEASE });
      await ctx.store.outbox.settle([{ id: done!.id, status: 'delivered', at: T0 }]);
      expect(await ctx.store.outbox.cancelByNotification('notification-1', T0 + 1)).toBe(2);
      expect(await ctx.store.outbox.cancelByNotification('notification-1', T0 + 2)).toBe(0);
      expect((await ctx.store.outbox.get(inFlight!.id))?.status).toBe('cancelled');
      await ctx.store.outbox.settle([{ id: inFlight!.id, status: 'delivered', at: T0 + 3 }]);
      expect((await ctx.store.outbox.get(inFlight!.id))?.status).toBe('cancelled');
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE * 2, leaseMs: LEASE }))).toEqual([
        'device-4',
      ]);
      expect(await ctx.store.outbox.counts()).toMatchObject({ delivered: 1, cancelled: 2, claimed: 1 });
    });

    it('tells the dispatcher when the next delivery is due, counting lease expiry', async () => {
      expect(await ctx.store.outbox.nextDueAt()).toBeUndefined();
      await ctx.store.outbox.enqueue([
        contractDelivery(1, { dueAt: T0 + 10_000 }),
        contractDelivery(2, { dueAt: T0 + 50_000 }),
      ]);
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 10_000);
      const [first] = await ctx.store.outbox.claim({ limit: 1, now: T0 + 10_000, leaseMs: 5_000 });
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 15_000);
      await ctx.store.outbox.settle([{ id: first!.id, status: 'delivered', at: T0 + 10_001 }]);
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 50_000);
      const [last] = await ctx.store.outbox.claim({ limit: 1, now: T0 + 50_000, leaseMs: LEASE });
      await ctx.store.outbox.settle([
        { id: last!.id, status: 'dead', error: { code: 'ERR_DELIVERY_DEAD' }, at: T0 + 50_001 },
      ]);
      expect(await ctx.store.outbox.nextDueAt()).toBeUndefined();
    });
  });
}
