import type { Delivery } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDelivery, contractDevice, contractEvent, enqueueWithDevices, T0, together } from './fixtures.js';

const LEASE = 30_000;
/** Outlives every `now` a test uses, so no claim expires unless the test means it to. */
const LONG_LEASE = 3_600_000;
const ids = (deliveries: readonly Delivery[]) => deliveries.map((d) => d.deviceId);

/** The outbox: idempotent enqueue, claim order and leases, concurrent claims, settle, cancel, wake-up time. */
export function describeOutbox(ctx: ContractContext): void {
  describe('outbox', () => {
    it('enqueues each (notification, device) once, across calls and within one batch', async () => {
      const first = await enqueueWithDevices(
        ctx.store,
        [1, 2, 3].map((n) => contractDelivery(n)),
      );
      const again = await enqueueWithDevices(ctx.store, [
        ...[1, 2, 3].map((n) => contractDelivery(n, { dueAt: T0 + 5 })),
        contractDelivery(4),
        contractDelivery(4),
        contractDelivery(1, { notificationId: 'notification-2' }),
      ]);
      expect(first).toEqual({ inserted: 3 });
      expect(again).toEqual({ inserted: 2 });
      expect((await ctx.store.outbox.counts()).pending).toBe(5);
      expect(await ctx.store.outbox.enqueue([])).toEqual({ inserted: 0 });
    });

    it('skips deliveries to devices that are not registered', async () => {
      await ctx.store.devices.upsert(contractDevice('device-1', 'user-1'));
      const result = await ctx.store.outbox.enqueue([contractDelivery(1), contractDelivery('ghost')]);
      expect(result).toEqual({ inserted: 1 });
      expect((await ctx.store.outbox.counts()).pending).toBe(1);
    });

    it('returns a delivery whole: message, the device address with per-device data, keys, expiry', async () => {
      const wanted = contractDelivery(1, { priority: 5, expiresAt: T0 + 120_000, variant: 'de' });
      await enqueueWithDevices(ctx.store, [wanted]);
      const [stored] = await ctx.store.outbox.listByEvent(wanted.eventKey);
      const { data, ...rest } = wanted;
      expect(stored).toMatchObject({
        ...rest,
        status: 'pending',
        attempts: 0,
        target: { deviceId: 'device-1', platform: 'fcm', token: 'token-device-1', data },
      });
      expect(await ctx.store.outbox.get(stored!.id)).toEqual(stored);
      expect(await ctx.store.outbox.get('999999')).toBeUndefined();
      expect(await ctx.store.outbox.get('not-an-id')).toBeUndefined();
      expect(await ctx.store.outbox.listByEvent('https://nowhere.example#0')).toEqual([]);
    });

    it('keeps one message per notification and variant, and the first copy of a variant wins', async () => {
      const de = { id: 'notification-1', title: 'Konto gesperrt', urgency: 'high' as const };
      await enqueueWithDevices(ctx.store, [
        contractDelivery(1),
        contractDelivery(2, { variant: 'de', message: de }),
        contractDelivery(3, { variant: 'de', message: { ...de, title: 'ignored: de is stored' } }),
      ]);
      const claimed = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const titles = Object.fromEntries(claimed.map((d) => [d.deviceId, d.message.title]));
      expect(titles).toEqual({
        'device-1': 'Account locked',
        'device-2': 'Konto gesperrt',
        'device-3': 'Konto gesperrt',
      });
      expect(claimed.find((d) => d.deviceId === 'device-2')?.variant).toBe('de');
    });

    it('addresses a delivery to the device as it is when claimed: a rotated token is used', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1)]);
      await ctx.store.devices.upsert({ ...contractDevice('device-1', 'user-1', 'fcm', 'rotated'), updatedAt: T0 + 1 });
      const [claimed] = await ctx.store.outbox.claim({ limit: 1, now: T0, leaseMs: LEASE });
      expect(claimed?.target).toEqual({
        deviceId: 'device-1',
        platform: 'fcm',
        token: 'rotated',
        data: { actionToken: 'at-1' },
      });
    });

    it("cancels a removed device's pending deliveries at claim time instead of returning them", async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1), contractDelivery(2)]);
      expect(await ctx.store.devices.remove('device-1')).toBe(true);
      const claimed = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      expect(ids(claimed)).toEqual(['device-2']);
      const [gone] = (await ctx.store.outbox.listByEvent(contractDelivery(1).eventKey)).filter(
        (d) => d.deviceId === 'device-1',
      );
      expect(gone).toMatchObject({ status: 'cancelled', userId: 'user-1', lastError: { code: 'ERR_DEVICE_REMOVED' } });
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + 2 * LEASE, leaseMs: LEASE })).toHaveLength(1);
    });

    it('claims due deliveries by priority, then due time, and leaves future ones', async () => {
      await enqueueWithDevices(ctx.store, [
        contractDelivery('low-early', { dueAt: T0 - 2_000 }),
        contractDelivery('low-late', { dueAt: T0 - 1_000 }),
        contractDelivery('high-late', { dueAt: T0 - 500, priority: 10 }),
        contractDelivery('high-early', { dueAt: T0 - 900, priority: 10 }),
        contractDelivery('future', { dueAt: T0 + 60_000, priority: 100 }),
      ]);
      const claimed = await ctx.store.outbox.claim({ limit: 3, now: T0, leaseMs: LONG_LEASE });
      expect(ids(claimed)).toEqual(['device-high-early', 'device-high-late', 'device-low-early']);
      for (const d of claimed) expect(d).toMatchObject({ status: 'claimed', attempts: 1, leaseUntil: T0 + LONG_LEASE });
      expect(new Set(claimed.map((d) => d.claimToken)).size).toBe(1);

      const rest = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LONG_LEASE });
      expect(ids(rest)).toEqual(['device-low-late']);
      expect(rest[0]!.claimToken).not.toBe(claimed[0]!.claimToken);
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LONG_LEASE })).toEqual([]);
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0 + 60_000, leaseMs: LONG_LEASE }))).toEqual([
        'device-future',
      ]);
    });

    it('claims only the platforms, and only the priorities, asked for', async () => {
      await enqueueWithDevices(ctx.store, [
        contractDelivery('f', { platform: 'fcm' }),
        contractDelivery('a', { platform: 'apns' }),
        contractDelivery('w', { platform: 'webpush' }),
        contractDelivery('urgent', { platform: 'fcm', priority: 100 }),
      ]);
      const express = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE, minPriority: 50 });
      expect(ids(express)).toEqual(['device-urgent']);
      const claimed = await ctx.store.outbox.claim({
        limit: 10,
        now: T0,
        leaseMs: LEASE,
        platforms: ['apns', 'webpush'],
      });
      expect(ids(claimed).sort()).toEqual(['device-a', 'device-w']);
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE, platforms: [] })).toEqual([]);
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE }))).toEqual(['device-f']);
    });

    it("claims a delivery again once a crashed worker's lease has expired", async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1)]);
      const [first] = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE - 1, leaseMs: LEASE })).toEqual([]);
      const [again] = await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE, leaseMs: LEASE });
      expect(again).toMatchObject({ id: first!.id, status: 'claimed', attempts: 2, leaseUntil: T0 + 2 * LEASE });
      expect(again!.claimToken).not.toBe(first!.claimToken);
    });

    it('never hands the same delivery to two concurrent claims', async () => {
      const total = 300;
      await enqueueWithDevices(
        ctx.store,
        Array.from({ length: total }, (_, n) => contractDelivery(n)),
      );
      const batches = await together(ctx.concurrency, () =>
        ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE }),
      );
      const claimed = batches.flat().map((d) => d.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed.length).toBe(Math.min(total, ctx.concurrency * 10));
      expect((await ctx.store.outbox.counts()).claimed).toBe(claimed.length);
      const tokens = batches.filter((b) => b.length > 0).map((b) => b[0]!.claimToken);
      expect(new Set(tokens).size).toBe(tokens.length);
    });

    it('settles claimed deliveries as delivered, retry, failed, dead, expired or cancelled', async () => {
      await enqueueWithDevices(
        ctx.store,
        [1, 2, 3, 4, 5, 6].map((n) => contractDelivery(n)),
      );
      const claimed = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const token = claimed[0]!.claimToken!;
      const byDevice = new Map(claimed.map((d) => [d.deviceId, d.id]));
      const id = (n: number) => byDevice.get(`device-${n}`)!;
      const error = { code: 'ERR_TRANSPORT_TIMEOUT', reason: 'no answer in 10 s' };
      const result = await ctx.store.outbox.settle([
        { id: id(1), claimToken: token, status: 'delivered', providerMessageId: 'projects/x/messages/1', at: T0 + 1 },
        { id: id(2), claimToken: token, status: 'retry', dueAt: T0 + 5_000, error, at: T0 + 1 },
        { id: id(3), claimToken: token, status: 'failed', error: { code: 'ERR_FCM_PAYLOAD_TOO_LARGE' }, at: T0 + 1 },
        { id: id(4), claimToken: token, status: 'dead', error, at: T0 + 1 },
        { id: id(5), claimToken: token, status: 'expired', error: { code: 'ERR_DELIVERY_EXPIRED' }, at: T0 + 1 },
        { id: id(6), claimToken: token, status: 'cancelled', at: T0 + 1 },
      ]);
      expect(result).toEqual({ settled: 6, stale: [] });
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
      expect(await ctx.store.outbox.get(id(5))).toMatchObject({
        status: 'expired',
        lastError: { code: 'ERR_DELIVERY_EXPIRED' },
      });
      expect((await ctx.store.outbox.get(id(6)))?.status).toBe('cancelled');
      expect((await ctx.store.outbox.get(id(1)))?.leaseUntil).toBeUndefined();
      expect(await ctx.store.outbox.counts()).toEqual({
        pending: 1,
        claimed: 0,
        delivered: 1,
        failed: 1,
        dead: 1,
        cancelled: 1,
        expired: 1,
      });

      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + 4_999, leaseMs: LEASE })).toEqual([]);
      const [retried] = await ctx.store.outbox.claim({ limit: 10, now: T0 + 5_000, leaseMs: LEASE });
      expect(retried).toMatchObject({ id: id(2), attempts: 2, status: 'claimed' });
    });

    it('ignores an outcome for a delivery that is not claimed, and reports it stale', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1), contractDelivery(2)]);
      const [claimed] = await ctx.store.outbox.claim({ limit: 1, now: T0, leaseMs: LEASE });
      const token = claimed!.claimToken!;
      const [pending] = (await ctx.store.outbox.listByEvent(claimed!.eventKey)).filter((d) => d.id !== claimed!.id);
      await ctx.store.outbox.settle([{ id: claimed!.id, claimToken: token, status: 'delivered', at: T0 + 1 }]);
      const late = await ctx.store.outbox.settle([
        { id: claimed!.id, claimToken: token, status: 'dead', error: { code: 'LATE' }, at: T0 + 2 },
        { id: pending!.id, claimToken: token, status: 'delivered', at: T0 + 2 },
        { id: '424242', claimToken: token, status: 'delivered', at: T0 + 2 },
        { id: 'nonsense', claimToken: token, status: 'delivered', at: T0 + 2 },
      ]);
      expect(late.settled).toBe(0);
      expect([...late.stale].sort()).toEqual([claimed!.id, pending!.id, '424242', 'nonsense'].sort());
      expect((await ctx.store.outbox.get(claimed!.id))?.status).toBe('delivered');
      expect((await ctx.store.outbox.get(pending!.id))?.status).toBe('pending');
    });

    it('fences a late settle: after a lease expiry and a re-claim, the second claimer’s outcome stands', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1), contractDelivery(2)]);
      const first = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const second = await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE, leaseMs: LEASE });
      expect(ids(second).sort()).toEqual(['device-1', 'device-2']);
      const [a, b] = second;
      const fresh = second[0]!.claimToken!;
      const old = first[0]!.claimToken!;

      // The second claimer delivers one and retries the other; then the first claimer's answers arrive late.
      expect(
        await ctx.store.outbox.settle([
          { id: a!.id, claimToken: fresh, status: 'delivered', providerMessageId: 'second', at: T0 + LEASE + 1 },
          {
            id: b!.id,
            claimToken: fresh,
            status: 'retry',
            dueAt: T0 + LEASE + 10_000,
            error: { code: 'X' },
            at: T0 + LEASE + 1,
          },
        ]),
      ).toEqual({ settled: 2, stale: [] });
      const late = await ctx.store.outbox.settle([
        { id: a!.id, claimToken: old, status: 'dead', error: { code: 'LATE' }, at: T0 + LEASE + 2 },
        { id: b!.id, claimToken: old, status: 'delivered', providerMessageId: 'first', at: T0 + LEASE + 2 },
      ]);
      expect(late.settled).toBe(0);
      expect([...late.stale].sort()).toEqual([a!.id, b!.id].sort());
      expect(await ctx.store.outbox.get(a!.id)).toMatchObject({ status: 'delivered', providerMessageId: 'second' });
      expect(await ctx.store.outbox.get(b!.id)).toMatchObject({ status: 'pending', dueAt: T0 + LEASE + 10_000 });

      // A late settle while the second claim is still in flight does not end it either.
      const [third] = await ctx.store.outbox.claim({ limit: 1, now: T0 + LEASE + 10_000, leaseMs: LEASE });
      const stillOld = await ctx.store.outbox.settle([
        {
          id: third!.id,
          claimToken: fresh,
          status: 'retry',
          dueAt: T0,
          error: { code: 'LATE' },
          at: T0 + LEASE + 10_001,
        },
      ]);
      expect(stillOld).toEqual({ settled: 0, stale: [third!.id] });
      expect((await ctx.store.outbox.get(third!.id))?.status).toBe('claimed');
    });

    it('extends the lease of a batch still in flight, only for rows its token still holds', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1), contractDelivery(2)]);
      const batch = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const token = batch[0]!.claimToken!;
      const [a, b] = batch;
      await ctx.store.outbox.settle([{ id: b!.id, claimToken: token, status: 'delivered', at: T0 + 1 }]);
      const extended = await ctx.store.outbox.extendLease([a!.id, b!.id], token, T0 + 3 * LEASE);
      expect(extended.lost).toEqual([b!.id]);
      expect(await ctx.store.outbox.claim({ limit: 10, now: T0 + 2 * LEASE, leaseMs: LEASE })).toEqual([]);
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 3 * LEASE);
      const [again] = await ctx.store.outbox.claim({ limit: 10, now: T0 + 3 * LEASE, leaseMs: LEASE });
      expect(again?.id).toBe(a!.id);
      expect((await ctx.store.outbox.extendLease([a!.id], token, T0 + 9 * LEASE)).lost).toEqual([a!.id]);
    });

    it('appends an outcome’s outgoing entries with it, and never for a stale outcome', async () => {
      await enqueueWithDevices(ctx.store, [contractDelivery(1), contractDelivery(2)]);
      const batch = await ctx.store.outbox.claim({ limit: 10, now: T0, leaseMs: LEASE });
      const receipt = (deviceId: string) => ({
        consumer: 'receipts',
        orderKey: deviceId,
        event: contractEvent(`receipt-${deviceId}`, '/idrelay/relay'),
      });
      await ctx.store.outbox.settle(
        batch.map((d) => ({
          id: d.id,
          claimToken: d.deviceId === 'device-1' ? d.claimToken! : d.claimToken! + 1_000_000,
          status: 'delivered' as const,
          at: T0 + 1,
          emit: [receipt(d.deviceId)],
        })),
      );
      const entries = await ctx.store.outgoing.list({ consumer: 'receipts', limit: 10 });
      expect(entries.map((e) => e.event.id)).toEqual(['receipt-device-1']);
    });

    it('cancels the live deliveries of a notification, and only those', async () => {
      await enqueueWithDevices(ctx.store, [
        contractDelivery(1),
        contractDelivery(2),
        contractDelivery(3),
        contractDelivery(4, { notificationId: 'notification-2', dueAt: T0 + 1 }),
      ]);
      const [done, inFlight] = await ctx.store.outbox.claim({ limit: 2, now: T0, leaseMs: LEASE });
      await ctx.store.outbox.settle([{ id: done!.id, claimToken: done!.claimToken!, status: 'delivered', at: T0 }]);
      expect(await ctx.store.outbox.cancelByNotification('notification-1', T0 + 1)).toBe(2);
      expect(await ctx.store.outbox.cancelByNotification('notification-1', T0 + 2)).toBe(0);
      expect((await ctx.store.outbox.get(inFlight!.id))?.status).toBe('cancelled');
      const late = await ctx.store.outbox.settle([
        { id: inFlight!.id, claimToken: inFlight!.claimToken!, status: 'delivered', at: T0 + 3 },
      ]);
      expect(late.stale).toEqual([inFlight!.id]);
      expect((await ctx.store.outbox.get(inFlight!.id))?.status).toBe('cancelled');
      expect(ids(await ctx.store.outbox.claim({ limit: 10, now: T0 + LEASE * 2, leaseMs: LEASE }))).toEqual([
        'device-4',
      ]);
      expect(await ctx.store.outbox.counts()).toMatchObject({ delivered: 1, cancelled: 2, claimed: 1 });
    });

    it('tells the dispatcher when the next delivery is due, counting lease expiry', async () => {
      expect(await ctx.store.outbox.nextDueAt()).toBeUndefined();
      await enqueueWithDevices(ctx.store, [
        contractDelivery(1, { dueAt: T0 + 10_000 }),
        contractDelivery(2, { dueAt: T0 + 50_000 }),
      ]);
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 10_000);
      const [first] = await ctx.store.outbox.claim({ limit: 1, now: T0 + 10_000, leaseMs: 5_000 });
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 15_000);
      await ctx.store.outbox.settle([
        { id: first!.id, claimToken: first!.claimToken!, status: 'delivered', at: T0 + 10_001 },
      ]);
      expect(await ctx.store.outbox.nextDueAt()).toBe(T0 + 50_000);
      const [last] = await ctx.store.outbox.claim({ limit: 1, now: T0 + 50_000, leaseMs: LEASE });
      await ctx.store.outbox.settle([
        {
          id: last!.id,
          claimToken: last!.claimToken!,
          status: 'dead',
          error: { code: 'ERR_DELIVERY_DEAD' },
          at: T0 + 50_001,
        },
      ]);
      expect(await ctx.store.outbox.nextDueAt()).toBeUndefined();
    });
  });
}
