import type { Delivery, NewDelivery, Store } from '@idrelay/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/index.js';
import { CLAIM_SLICE } from '../src/outbox/claim.js';
import { ENQUEUE_SLICE } from '../src/outbox/enqueue.js';

/**
 * Large calls write in slices with a turn of the event loop between them (so a fan-out never holds it for long).
 * What a caller sees must not change: one fencing token per claim, claim order, no delivery in two claims.
 */
const T0 = 1_767_225_600_000;
const TOTAL = 2 * CLAIM_SLICE + 300;
let store: Store;

beforeEach(async () => {
  store = await createSqliteStore({ path: ':memory:', clock: { now: () => T0 } });
  for (let n = 0; n < TOTAL; n++) {
    await store.devices.upsert({
      deviceId: `d-${n}`,
      userId: `u-${n}`,
      platform: 'fcm',
      token: `t-${n}`,
      createdAt: T0,
      updatedAt: T0,
    });
  }
  const deliveries: NewDelivery[] = Array.from({ length: TOTAL }, (_, n) => ({
    eventKey: '/e#1',
    notificationId: 'n-1',
    ruleId: 'r',
    userId: `u-${n}`,
    deviceId: `d-${n}`,
    platform: 'fcm',
    // Three priority levels and spread due times, so claim order is not insertion order.
    priority: (n % 3) * 10,
    dueAt: T0 - (n % 7) * 1_000,
    message: { id: 'n-1', urgency: 'normal', title: 'All hands' },
  }));
  expect(TOTAL).toBeGreaterThan(ENQUEUE_SLICE);
  expect(await store.outbox.enqueue(deliveries)).toEqual({ inserted: TOTAL });
});
afterEach(() => store.close());

const inClaimOrder = (batch: readonly Delivery[]) =>
  batch.every(
    (d, i) =>
      i === 0 ||
      batch[i - 1]!.priority > d.priority ||
      (batch[i - 1]!.priority === d.priority && batch[i - 1]!.dueAt <= d.dueAt),
  );

describe('calls larger than a slice', () => {
  it('claim everything due in claim order under one token, and share one message object', async () => {
    const batch = await store.outbox.claim({ limit: TOTAL, now: T0, leaseMs: 60_000 });
    expect(batch).toHaveLength(TOTAL);
    expect(new Set(batch.map((d) => d.claimToken)).size).toBe(1);
    expect(inClaimOrder(batch)).toBe(true);
    expect(new Set(batch.map((d) => d.message)).size).toBe(1);
    expect(
      await store.outbox.settle(
        batch.map((d) => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered', at: T0 })),
      ),
    ).toEqual({ settled: TOTAL, stale: [] });
  });

  it('never give one delivery to two claims whose slices interleave', async () => {
    const [a, b] = await Promise.all([
      store.outbox.claim({ limit: TOTAL, now: T0, leaseMs: 60_000 }),
      store.outbox.claim({ limit: TOTAL, now: T0, leaseMs: 60_000 }),
    ]);
    const ids = [...a!, ...b!].map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(TOTAL);
    // Both got some: the second claim ran between the first one's slices.
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
    expect(a![0]!.claimToken).not.toBe(b![0]!.claimToken);
    expect(inClaimOrder(a!) && inClaimOrder(b!)).toBe(true);
  });
});
