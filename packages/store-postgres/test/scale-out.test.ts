import type { Delivery, NewDelivery, OutgoingEntry, Store } from '@idrelay/core';
import { verifyAuditChain } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();
const T0 = 1_767_225_600_000;

/** A delivery of notification `n >> 1` to `device-<n>` (registered by `seedDevices`). */
const delivery = (n: number, over: Partial<NewDelivery> = {}): NewDelivery => ({
  eventKey: 'https://iam.example.com#e1',
  notificationId: `notification-${n >> 1}`,
  ruleId: 'r1',
  userId: `user-${n}`,
  deviceId: `device-${n}`,
  platform: 'fcm',
  dueAt: T0,
  message: { id: `notification-${n >> 1}`, title: 'Access review', urgency: 'normal' },
  ...over,
});

const delivered = (batch: readonly Delivery[], at = T0) =>
  batch.map((d) => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered' as const, at }));

describe.skipIf(!postgres.available)('PostgreSQL outbox shared by several processes', () => {
  const schemas = testSchemas(postgres.url, 'scaleout');
  let schema: string;
  let worker1: Store;
  let worker2: Store;
  beforeEach(async () => {
    // Two stores with two pools on one schema: what two worker processes have.
    schema = schemas.next();
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
    await schemas.seedDevices(schema, total);
    expect(await worker1.outbox.enqueue(Array.from({ length: total }, (_, n) => delivery(n)))).toEqual({
      inserted: total,
    });
    const drain = async (store: Store): Promise<Delivery[]> => {
      const mine: Delivery[] = [];
      for (;;) {
        const batch = await store.outbox.claim({ limit: 100, now: T0, leaseMs: 60_000 });
        if (batch.length === 0) return mine;
        mine.push(...batch);
        expect(await store.outbox.settle(delivered(batch))).toEqual({ settled: batch.length, stale: [] });
      }
    };
    const [a, b, c, d] = await Promise.all([drain(worker1), drain(worker2), drain(worker1), drain(worker2)]);
    const first = [...a!, ...c!];
    const second = [...b!, ...d!];
    const ids = [...first, ...second].map((x) => x.id);
    expect(new Set(ids).size).toBe(total);
    expect(ids).toHaveLength(total);
    // Both really took part: SKIP LOCKED let them work side by side instead of queueing.
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    expect(await worker2.outbox.counts()).toMatchObject({ delivered: total, pending: 0, claimed: 0 });
  });

  it('enqueues the same deliveries from two processes once', async () => {
    await schemas.seedDevices(schema, 3_000);
    const batch = Array.from({ length: 3_000 }, (_, n) => delivery(n));
    const [a, b] = await Promise.all([worker1.outbox.enqueue(batch), worker2.outbox.enqueue(batch)]);
    expect(a.inserted + b.inserted).toBe(3_000);
    expect((await worker1.outbox.counts()).pending).toBe(3_000);
  });

  it('enqueues more than one statement holds, and keeps JSON that needs escaping intact', async () => {
    await schemas.seedDevices(schema, 5_002);
    const tricky = 'line one\nline "two" \\ tab\t emoji 🔐 separator \u2028 nul-free ✓';
    const many = Array.from({ length: 5_001 }, (_, n) =>
      delivery(n, {
        notificationId: `notification-${n}`,
        message: { id: `notification-${n}`, title: tricky, body: `#${n}`, urgency: 'high', data: { quote: '"' } },
        data: { actionToken: `"${n}"\n\\` },
      }),
    );
    // Keys and ids with the characters an array literal must escape or could misread.
    many.push(delivery(5_001, { notificationId: 'a "quoted" \\ {brace}, comma', ruleId: 'NULL', variant: 'NULL' }));
    expect(await worker1.outbox.enqueue(many)).toEqual({ inserted: 5_002 });
    const stored = await worker1.outbox.listByEvent('https://iam.example.com#e1');
    expect(stored).toHaveLength(5_002);
    const odd = stored.find((d) => d.deviceId === 'device-5001');
    expect(odd).toMatchObject({ notificationId: 'a "quoted" \\ {brace}, comma', ruleId: 'NULL', variant: 'NULL' });
    const last = stored.find((d) => d.deviceId === 'device-5000');
    expect(last?.message).toEqual(many[5_000]!.message);
    expect(last?.target).toEqual({
      deviceId: 'device-5000',
      platform: 'fcm',
      token: 'token-device-5000',
      data: many[5_000]!.data,
    });
  });

  it('fences a crashed worker: its claims go to another once the lease ends, and its late settle is stale', async () => {
    await schemas.seedDevices(schema, 2);
    await worker1.outbox.enqueue([delivery(1)]);
    const [taken] = await worker1.outbox.claim({ limit: 10, now: T0, leaseMs: 1_000 });
    expect(await worker2.outbox.claim({ limit: 10, now: T0 + 999, leaseMs: 1_000 })).toEqual([]);
    const [retaken] = await worker2.outbox.claim({ limit: 10, now: T0 + 1_000, leaseMs: 1_000 });
    expect(retaken).toMatchObject({ id: taken!.id, attempts: 2, leaseUntil: T0 + 2_000 });
    expect(retaken!.claimToken).not.toBe(taken!.claimToken);
    // The first worker wakes up late: neither a failure nor a success of its own may overwrite the live claim.
    expect(
      await worker1.outbox.settle([
        { id: taken!.id, claimToken: taken!.claimToken!, status: 'failed', error: { code: 'X' }, at: T0 + 1_100 },
      ]),
    ).toEqual({ settled: 0, stale: [taken!.id] });
    expect(await worker1.outbox.get(taken!.id)).toMatchObject({ status: 'claimed', claimToken: retaken!.claimToken });
    await worker2.outbox.settle([
      {
        id: retaken!.id,
        claimToken: retaken!.claimToken!,
        status: 'delivered',
        providerMessageId: 'p-1',
        at: T0 + 1_500,
      },
    ]);
    expect(await worker1.outbox.get(taken!.id)).toMatchObject({ status: 'delivered', providerMessageId: 'p-1' });
  });

  it('draws claim tokens from one sequence, so tokens from two processes never repeat', async () => {
    await schemas.seedDevices(schema, 40);
    await worker1.outbox.enqueue(Array.from({ length: 40 }, (_, n) => delivery(n)));
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? worker1 : worker2).outbox.claim({ limit: 5, now: T0, leaseMs: 1 })),
    );
    const tokens = batches.map((batch) => batch[0]!.claimToken);
    expect(new Set(tokens).size).toBe(8);
    for (const batch of batches) expect(new Set(batch.map((d) => d.claimToken)).size).toBe(1);
  });

  it('wakes the dispatcher at the earliest due time or lease end over every priority', async () => {
    await schemas.seedDevices(schema, 5);
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

describe.skipIf(!postgres.available)('PostgreSQL outgoing log shared by several processes', () => {
  const schemas = testSchemas(postgres.url, 'outgoing');
  afterAll(() => schemas.dropAll());

  it('never lets two workers hold two entries of one key, and hands each key out in append order', {
    timeout: 60_000,
  }, async () => {
    const schema = schemas.next();
    // Three processes, each with its own pool: appenders and claimers race on the same keys.
    const processes = [
      await schemas.open({ maxConnections: 4 }, schema),
      await schemas.open({ maxConnections: 4 }, schema),
      await schemas.open({ maxConnections: 4 }, schema),
    ];
    const KEYS = 8;
    const PER_APPENDER = 60;
    const APPENDERS = 3;
    const total = PER_APPENDER * APPENDERS;
    const event = (n: number) =>
      ({
        specversion: '1.0',
        id: `out-${n}`,
        source: '/idrelay/relay',
        type: 'idrelay.notification.acknowledged',
        data: {},
      }) as unknown as OutgoingEntry['event'];

    let appending = APPENDERS;
    const append = async (appender: number) => {
      const store = processes[appender % processes.length]!;
      for (let i = 0; i < PER_APPENDER; i += 3) {
        // Small appends of a few keys at once, so appends of one key from different processes interleave.
        const n = appender * PER_APPENDER + i;
        await store.outgoing.append(
          [0, 1, 2].map((k) => ({ consumer: 'iam', orderKey: `key-${(n + k) % KEYS}`, event: event(n + k) })),
          T0,
        );
      }
      appending--;
    };

    const inFlight = new Map<string, string>();
    const violations: string[] = [];
    const deliveredOrder = new Map<string, number[]>();
    let done = 0;
    const work = async (worker: number) => {
      const store = processes[worker % processes.length]!;
      let idle = 0;
      let round = 0;
      while (done < total && idle < 400) {
        const claimed = await store.outgoing.claim({ consumer: 'iam', limit: 3, now: T0, leaseMs: 3_600_000 });
        if (claimed.length === 0) {
          idle += appending > 0 ? 0 : 1;
          continue;
        }
        idle = 0;
        for (const entry of claimed) {
          const holder = inFlight.get(entry.orderKey);
          if (holder !== undefined) violations.push(`${entry.orderKey}: ${entry.id} while ${holder} is held`);
          inFlight.set(entry.orderKey, entry.id);
        }
        // The consumer call: other workers' claims come back meanwhile. The keys are handed back just before the
        // settle, since another worker may claim their next entries as soon as it commits.
        await new Promise((resolve) => setImmediate(resolve));
        for (const entry of claimed) inFlight.delete(entry.orderKey);
        const retry = round++ % 4 === 0;
        const outcomes = claimed.map((entry, i) =>
          retry && i === 0
            ? {
                id: entry.id,
                claimToken: entry.claimToken!,
                status: 'retry' as const,
                dueAt: T0,
                error: { code: 'ERR_CONSUMER_FAILED' },
                at: T0,
              }
            : { id: entry.id, claimToken: entry.claimToken!, status: 'delivered' as const, at: T0 },
        );
        const result = await store.outgoing.settle(outcomes);
        expect(result.stale).toEqual([]);
        for (const outcome of outcomes) {
          if (outcome.status !== 'delivered') continue;
          const key = claimed.find((e) => e.id === outcome.id)!.orderKey;
          deliveredOrder.set(key, [...(deliveredOrder.get(key) ?? []), Number(outcome.id)]);
          done++;
        }
      }
    };

    // A watcher that reads the table itself: at no instant may one key have two claimed entries.
    let watching = true;
    let looks = 0;
    const watch = async () => {
      while (watching) {
        const { rows } = await schemas.admin.query(
          `SELECT order_key FROM "${schema}".outgoing WHERE status = 'claimed' GROUP BY order_key HAVING count(*) > 1`,
        );
        for (const row of rows) violations.push(`table: ${row.order_key} has two claimed entries`);
        looks++;
      }
    };
    const watcher = watch();
    await Promise.all([
      ...Array.from({ length: APPENDERS }, (_, i) => append(i)),
      ...Array.from({ length: 5 }, (_, i) => work(i)),
    ]);
    watching = false;
    await watcher;

    expect(violations).toEqual([]);
    expect(looks).toBeGreaterThan(10);
    expect(done).toBe(total);
    expect(await processes[0]!.outgoing.counts('iam')).toEqual({ pending: 0, claimed: 0, delivered: total, dead: 0 });
    for (const [key, ids] of deliveredOrder) {
      expect(ids, key).toEqual([...ids].sort((a, b) => a - b));
    }
    expect(await processes[1]!.outgoing.nextDueAt('iam')).toBeUndefined();
    await Promise.all(processes.map((store) => store.close()));
  });
});
