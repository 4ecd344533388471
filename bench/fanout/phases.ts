/**
 * The measured phases of `pnpm bench fanout`, each run in its own child process (so peak RSS is per driver):
 * plan+enqueue and dispatch of an announcement to 100,000 users × 2 devices, each beside the raw floor of the same
 * store (plain enqueue and claim+settle of the same rows, no planning); and MFA verification latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type DeliveryResult, type NewDelivery, type Store, type Transport } from '@idrelay/core';
import { createRelay, defaultRules, idempotencyKeys } from '@idrelay/engine';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory, postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';
import { percentile } from '../lib/measure.js';

export const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const DEVICES = USERS * 2;

function noopTransport(
  platform: 'apns' | 'fcm',
  onSend?: (message: { id: string }, devices: number) => void,
): Transport & { count: number } {
  const t = {
    platform,
    name: `noop:${platform}`,
    count: 0,
    async send(message: { id: string }, targets: readonly { deviceId: string }[]): Promise<DeliveryResult[]> {
      t.count += targets.length;
      onSend?.(message, targets.length);
      return targets.map((target) => ({ deviceId: target.deviceId, status: 'delivered' as const }));
    },
    async close() {},
  };
  return t as Transport & { count: number };
}

async function openStore(driver: string, dir: string): Promise<{ store: Store; drop(): Promise<void> }> {
  if (driver === 'sqlite') {
    const store = await createSqliteStore({ path: join(dir, `${randomSchemaName('f')}.db`) });
    return { store, drop: async () => {} };
  }
  const schema = randomSchemaName('bench');
  const store = await createPostgresStore({ connectionString: postgresTestUrl(), schema });
  return {
    store,
    async drop() {
      const client = new pg.Client({ connectionString: postgresTestUrl() });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

async function seedDevices(store: Store, users: { id: string }[]): Promise<void> {
  const now = Date.now();
  for (let i = 0; i < users.length; i += 200) {
    await Promise.all(
      users.slice(i, i + 200).flatMap((u) => [
        store.devices.upsert({
          userId: u.id,
          deviceId: `${u.id}-i`,
          platform: 'apns',
          token: `apns-${u.id}-token`,
          createdAt: now,
          updatedAt: now,
        }),
        store.devices.upsert({
          userId: u.id,
          deviceId: `${u.id}-a`,
          platform: 'fcm',
          token: `fcm-${u.id}-token`,
          createdAt: now,
          updatedAt: now,
        }),
      ]),
    );
  }
}

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
    },
  };
}

/** The raw floor of one driver: the same rows as the engine writes, prebuilt, enqueued in batches, claimed, settled. */
export async function rawFloor(driver: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-floor-'));
  const users = Array.from({ length: USERS }, (_, i) => ({ id: `u${i}` }));
  const raw = await openStore(driver, dir);
  const message = {
    id: 'n-raw',
    title: 'All hands',
    body: 'Open the app to read it.',
    urgency: 'normal' as const,
    data: { type: 'x' },
  };
  // The same keys as the engine's (a SHA-1 per device): random keys cost more in a unique index than sequential ones.
  const keyOf = idempotencyKeys('/bench#raw', 'raw');
  const rows: NewDelivery[] = users.flatMap((u) =>
    (['apns', 'fcm'] as const).map((platform) => ({
      idempotencyKey: keyOf(`${u.id}-${platform}`),
      eventKey: '/bench#raw',
      notificationId: 'n-raw',
      ruleId: 'raw',
      userId: u.id,
      deviceId: `${u.id}-${platform}`,
      platform,
      dueAt: Date.now(),
      message,
      target: {
        deviceId: `${u.id}-${platform}`,
        platform,
        token: `${platform}-${u.id}-token`,
      } as NewDelivery['target'],
      priority: 0,
    })),
  );
  let t0 = performance.now();
  for (let i = 0; i < rows.length; i += 5_000) await raw.store.outbox.enqueue(rows.slice(i, i + 5_000));
  const rawEnqueue = DEVICES / ((performance.now() - t0) / 1000);
  rows.length = 0;
  t0 = performance.now();
  for (;;) {
    const batch = await raw.store.outbox.claim({ limit: 1_000, now: Date.now(), leaseMs: 60_000 });
    if (batch.length === 0) break;
    const at = Date.now();
    await raw.store.outbox.settle(batch.map((d) => ({ id: d.id, status: 'delivered' as const, at })));
  }
  const rawDispatch = DEVICES / ((performance.now() - t0) / 1000);
  await raw.store.close();
  await raw.drop();
  rmSync(dir, { recursive: true, force: true });
  return { rawEnqueue, rawDispatch };
}

/**
 * Fan-out on one driver through the engine: plan + enqueue, then dispatch, and the peak RSS of this process (the
 * relay plus the in-memory directory of every user, which a real deployment would not hold).
 */
export async function fanout(driver: string): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-fanout-'));
  const users = Array.from({ length: USERS }, (_, i) => ({ id: `u${i}`, attributes: { staff: 'yes' } }));
  const directory = createMemoryDirectory({ users });
  const rss = rssSampler();
  let t0 = 0;

  // The engine: plan + enqueue through ingest with dispatch stopped, then dispatch with the in-process queue.
  const { store, drop } = await openStore(driver, dir);
  await seedDevices(store, users);
  // Dispatch is timed to the last send plus the settling of the batches in flight (close() waits for them); polling
  // outbox counts would scan the table and slow the dispatcher it measures.
  let sent = 0;
  let allSent: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allSent = resolve;
  });
  const count = (_message: unknown, n: number) => {
    sent += n;
    if (sent >= DEVICES) allSent();
  };
  const transports = [noopTransport('apns', count), noopTransport('fcm', count)];
  const relay = createRelay({
    store,
    directory,
    transports,
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }),
    // 2,500 users × 2 devices = 5,000 rows per enqueue, the raw floor's batch size.
    pageSize: 2_500,
    batchSize: 1_000,
    concurrency: 4,
  });
  const event = createEvent(
    'idrelay.announcement.published',
    {
      announcementId: 'all-hands',
      title: 'All hands',
      body: 'b',
      audience: { kind: 'attributes', filter: { staff: 'yes' } },
    },
    { source: '/bench' },
  );
  t0 = performance.now();
  const plan = await relay.ingest(event);
  const enqueue = plan.deliveries / ((performance.now() - t0) / 1000);
  if (plan.deliveries !== DEVICES) throw new Error(`planned ${plan.deliveries}, expected ${DEVICES}`);
  t0 = performance.now();
  await relay.start();
  await done;
  await relay.close();
  const dispatch = DEVICES / ((performance.now() - t0) / 1000);
  const counts = await store.outbox.counts();
  if (sent !== DEVICES || counts.delivered !== DEVICES)
    throw new Error(`sent ${sent}, delivered ${counts.delivered}, expected ${DEVICES}`);
  const peak = rss.stop();
  await store.close();
  await drop();
  rmSync(dir, { recursive: true, force: true });
  return { enqueue, dispatch, peakRssMb: peak };
}

/**
 * MFA verification events at `rate`/s on SQLite (file): latency from `ingest()` to `transport.send`, after `warmup`
 * events that are not recorded (statement preparation, JIT).
 */
export async function verification(rate = 200, total = 1_000, warmup = 100): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-verify-'));
  const users = Array.from({ length: 1_000 }, (_, i) => ({ id: `u${i}`, attributes: {} }));
  const { store } = await openStore('sqlite', dir);
  await seedDevices(store, users);
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const onSend = (message: { id: string }) => {
    const at = started.get(message.id);
    if (at !== undefined) {
      latencies.push(performance.now() - at);
      started.delete(message.id);
    }
  };
  const relay = createRelay({
    store,
    directory: createMemoryDirectory({ users }),
    transports: [noopTransport('apns', onSend), noopTransport('fcm', onSend)],
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }),
  });
  await relay.start();
  const { notificationId, eventKey } = await import('@idrelay/engine');
  const pending: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < warmup + total; i++) {
    if (i === warmup) {
      await Promise.all(pending);
      latencies.length = 0;
    }
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const event = createEvent(
      'idrelay.auth.verification.requested',
      {
        verificationId: `v-${i}`,
        userId: `u${i % users.length}`,
        application: { id: 'erp', name: 'ERP' },
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
      { source: '/bench' },
    );
    started.set(notificationId(eventKey(event), 'verification-to-user'), performance.now());
    pending.push(relay.ingest(event));
  }
  await Promise.all(pending);
  await relay.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (latencies.length !== total) throw new Error(`measured ${latencies.length} of ${total} verifications`);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), count: latencies.length };
}
