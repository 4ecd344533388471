import type { Delivery, NewDelivery, Store } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();
const T0 = 1_767_225_600_000;

const delivery = (n: number, over: Partial<NewDelivery> = {}): NewDelivery => ({
  idempotencyKey: `e1|r1|device-${n}`,
  eventKey: 'https://iam.example.com#e1',
  notificationId: `notification-${n >> 1}`,
  ruleId: 'r1',
  userId: `user-${n >> 1}`,
  deviceId: `device-${n}`,
  platform: n % 2 === 0 ? 'apns' : 'fcm',
  dueAt: T0,
  message: { id: `notification-${n >> 1}`, title: 'Access review', urgency: 'normal' },
  target: { deviceId: `device-${n}`, platform: 'fcm', token: `token-${n}` },
  ...over,
});

describe.skipIf(!postgres.available)('PostgreSQL outbox shared by several processes', () => {
  const schemas = testSchemas(postgres.url, 'scaleout');
  let worker1: Store;
  let worker2: Store;
  beforeEach(async () => {
    // Two stores with two pools on one schema: what two worker processes have.
    const schema = schemas.next();
    worker1 = await schemas.open({ maxConnections: 4 }, schema);
    worker2 = await schemas.open({ maxConnections: 4 }, schema);
  });
  afterEach(async () => {
    await worker1.close();
    await worker2.close();
  });
  afterAll(() => schemas.dropAll());

  it('hands every delivery to exactly one of two workers claiming at the same time', async () => {
    const total = 3_000;
    expect(await worker1.outbox.enqueue(Array.from({ length: total }, (_, n) => delivery(n)))).toEqual({
      inserted: total,
    });
    const drain = async (store: Store): Promise<Delivery[]> => {
      const mine: Delivery[] = [];
      for (;;) {
        const batch = await store.outbox.claim({ limit: 100, now: T0, leaseMs: 60_000 });
        if (batch.length === 0) return mine;
        mine.push(...batch);
        await store.outbox.settle(batch.map((d) => ({ id: d.id, status: 'delivered' as const, at: T0 })));
      }
    };
    const [first, second] = await Promise.all([drain(worker1), drain(worker2), drain(worker1), drain(worker2)]).then(
      ([a, b, c, d]) => [
        [...a!, ...c!],
        [...b!, ...d!],
      ],
    );
    const ids = [...first!, ...second!].map((d) => d.id);
    expect(new Set(ids).size).toBe(total);
    expect(ids).toHaveLength(total);
    // Both really took part: SKIP LOCKED let them work side by side instead of queueing.
    expect(first!.length).toBeGreaterThan(0);
    expect(second!.length).toBeGreaterThan(0);
    expect(await worker2.outbox.counts()).toMatchObject({ delivered: total, pending: 0, claimed: 0 });
  });

  it('enqueues the same deliveries from two processes once', async () => {
    const batch = Array.from({ length: 3_000 }, (_, n) => delivery(n));
    const [a, b] = await Promise.all([worker1.outbox.enqueue(batch), worker2.outbox.enqueue(batch)]);
    expect(a.inserted + b.inserted).toBe(3_000);
    expect((await worker1.outbox.counts()).pending).toBe(3_000);
  });

  it('enqueues more than one statement holds, and keeps JSON that needs escaping intact', async () => {
    const tricky = 'line one\nline "two" \\ tab\t emoji 🔐 separator \u2028 nul-free ✓';
    const many = Array.from({ length: 5_001 }, (_, n) =>
      delivery(n, {
        message: { id: `notification-${n}`, title: tricky, body: `#${n}`, urgency: 'high', data: { quote: '"' } },
      }),
    );
    // Keys and ids with the characters an array literal must escape or could misread.
    many.push(delivery(9_999, { userId: 'a "quoted" \\ {brace}, comma', ruleId: 'NULL', deviceId: '' }));
    expect(await worker1.outbox.enqueue(many)).toEqual({ inserted: 5_002 });
    const stored = await worker1.outbox.listByEvent('https://iam.example.com#e1');
    const odd = stored.find((d) => d.ruleId === 'NULL');
    expect(odd).toMatchObject({ userId: 'a "quoted" \\ {brace}, comma', ruleId: 'NULL', deviceId: '' });
    const last = stored.find((d) => d.deviceId === 'device-5000');
    expect(last?.message).toEqual(many[5_000]!.message);
    expect(last?.target).toEqual(many[5_000]!.target);
  });

  it('gives a crashed worker’s claims to another once the lease ends, and settles only the live claim', async () => {
    await worker1.outbox.enqueue([delivery(1)]);
    const [taken] = await worker1.outbox.claim({ limit: 10, now: T0, leaseMs: 1_000 });
    expect(await worker2.outbox.claim({ limit: 10, now: T0 + 999, leaseMs: 1_000 })).toEqual([]);
    const [retaken] = await worker2.outbox.claim({ limit: 10, now: T0 + 1_000, leaseMs: 1_000 });
    expect(retaken).toMatchObject({ id: taken!.id, attempts: 2, leaseUntil: T0 + 2_000 });
    await worker2.outbox.settle([{ id: retaken!.id, status: 'delivered', providerMessageId: 'p-1', at: T0 + 1_500 }]);
    // The first worker wakes up late and reports a failure: the delivery is already final.
    await worker1.outbox.settle([{ id: taken!.id, status: 'failed', error: { code: 'X' }, at: T0 + 1_600 }]);
    expect(await worker1.outbox.get(taken!.id)).toMatchObject({ status: 'delivered', providerMessageId: 'p-1' });
  });

  it('wakes the dispatcher at the earliest due time or lease end over every priority', async () => {
    expect(await worker1.outbox.nextDueAt()).toBeUndefined();
    await worker1.outbox.enqueue([
      delivery(1, { priority: 10, dueAt: T0 + 5_000 }),
      delivery(2, { priority: 0, dueAt: T0 + 3_000 }),
      delivery(3, { priority: -5, dueAt: T0 + 4_000 }),
      delivery(4, { priority: 3, dueAt: T0 }),
    ]);
    expect(await worker2.outbox.nextDueAt()).toBe(T0);
    await worker2.outbox.claim({ limit: 1, now: T0, leaseMs: 10_000 });
    expect(await worker2.outbox.nextDueAt()).toBe(T0 + 3_000);
    const claimed = await worker2.outbox.claim({ limit: 10, now: T0 + 5_000, leaseMs: 1_000 });
    expect(claimed.map((d) => d.priority)).toEqual([10, 0, -5]);
    expect(await worker2.outbox.nextDueAt()).toBe(T0 + 6_000);
  });

  it('serialises audit appends from two processes into one chain', async () => {
    const { verifyAuditChain } = await import('@idrelay/core');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? worker1 : worker2).audit.append([
          { at: T0 + i, action: 'delivery.sent', actor: `worker-${i % 2}`, details: { i } },
          { at: T0 + i, action: 'delivery.receipt', actor: `worker-${i % 2}` },
        ]),
      ),
    );
    const entries = await worker1.audit.list({ limit: 100 });
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(verifyAuditChain(entries)).toBeUndefined();
    expect(await worker2.audit.head()).toEqual(entries[39]);
  });
});
