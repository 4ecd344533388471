/**
 * The measured phases of `pnpm bench fanout`, each run in its own child process (so peak RSS is per driver):
 * plan+enqueue and dispatch of an announcement to 100,000 users × 2 devices, each beside the raw floor of the same
 * store (plain enqueue and claim+settle of the same rows, no planning); and MFA verification latency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeliveryResult, eventKey, type PushRequest, type Store, type Transport } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createRelay, defaultRules, notificationId } from '@idrelay/engine';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory, postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';
import { percentile } from '../lib/measure.js';
import { postgresRawFloor, postgresStoreRates } from './floor-postgres.js';
import { sqliteRawFloor, sqliteStoreRates } from './floor-sqlite.js';

export const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const DEVICES = USERS * 2;

function noopTransport(
  platform: 'apns' | 'fcm',
  onSend?: (messageId: string, devices: number) => void,
): Transport & { count: number } {
  const t = {
    platform,
    name: `noop:${platform}`,
    count: 0,
    async sendEach(requests: readonly PushRequest[]): Promise<DeliveryResult[]> {
      t.count += requests.length;
      if (onSend) {
        let run = 0;
        for (let i = 0; i < requests.length; i++) {
          run++;
          const id = requests[i]!.message.id;
          if (i + 1 === requests.length || requests[i + 1]!.message.id !== id) {
            onSend(id, run);
            run = 0;
          }
        }
      }
      return requests.map((r) => ({ deviceId: r.target.deviceId, status: 'delivered' as const }));
    },
    async send(message: PushRequest['message'], targets: readonly PushRequest['target'][]) {
      return t.sendEach(targets.map((target) => ({ message, target })));
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

async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
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

/**
 * The floor of one driver: the normalised layout the store writes, as plain `node:sqlite` / `pg` statements with no
 * store code around them (same rows, 5,000-row inserts, 1,000-row claims settled as delivered), and the store's own
 * port calls on the same workload. Both live beside their store (bench/fanout/floor-*.ts).
 */
export async function rawFloor(driver: string): Promise<Record<string, number>> {
  const options = { users: USERS };
  if (driver === 'sqlite') return { ...(await sqliteRawFloor(options)), ...(await sqliteStoreRates(options)) };
  return { ...(await postgresRawFloor(options)), ...(await postgresStoreRates(options)) };
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
  const count = (_message: string, n: number) => {
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
  // BENCH_PROFILE=<file> writes a CPU profile of the plan+enqueue phase alone (seeding left out).
  const profile = process.env.BENCH_PROFILE ? await startProfile() : undefined;
  t0 = performance.now();
  const plan = await relay.ingest(event);
  await profile?.(process.env.BENCH_PROFILE!);
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
 * MFA verification events at `rate`/s on SQLite (file) while a fan-out drains: latency from `ingest()` to the
 * transport's `sendEach`, after `warmup` events that are not recorded (statement preparation, JIT). An
 * announcement to every user (2 devices each) is planned and dispatched again and again for the whole run, so
 * every verification competes with bulk planning, claims and settles on the same database and event loop.
 */
export async function verification(rate = 200, total = 1_000, warmup = 100): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-verify-'));
  const users = Array.from({ length: USERS }, (_, i) => ({ id: `u${i}`, attributes: { staff: 'yes' } }));
  const { store } = await openStore('sqlite', dir);
  await seedDevices(store, users);
  const started = new Map<string, number>();
  const latencies: number[] = [];
  let bulkSent = 0;
  let bulkWanted = 0;
  let bulkDone: () => void = () => {};
  const measured = new Set<string>();
  const onSend = (messageId: string, devices: number) => {
    const at = started.get(messageId);
    if (at !== undefined) {
      if (measured.has(messageId)) latencies.push(performance.now() - at);
      started.delete(messageId);
      return;
    }
    bulkSent += devices;
    if (bulkSent >= bulkWanted) bulkDone();
  };
  const relay = createRelay({
    store,
    directory: createMemoryDirectory({ users }),
    transports: [noopTransport('apns', onSend), noopTransport('fcm', onSend)],
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }),
    pageSize: 500,
    batchSize: 500,
    retention: false,
  });
  await relay.start();
  let measuring = true;
  let fanouts = 0;
  const bulk = (async () => {
    while (measuring) {
      fanouts++;
      bulkWanted += USERS * 2;
      const drained = new Promise<void>((resolve) => {
        bulkDone = resolve;
      });
      await relay.ingest(
        createEvent(
          'idrelay.announcement.published',
          {
            announcementId: `all-hands-${fanouts}`,
            title: 'All hands',
            body: 'b',
            audience: { kind: 'attributes', filter: { staff: 'yes' } },
          },
          { source: '/bench/bulk' },
        ),
      );
      await drained;
    }
  })();
  const pending: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < warmup + total; i++) {
    if (i === warmup) await Promise.all(pending);
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const event = createEvent(
      'idrelay.auth.verification.requested',
      {
        verificationId: `v-${i}`,
        userId: `u${i % 1_000}`,
        application: { id: 'erp', name: 'ERP' },
        numberMatch: { code: '42' },
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      },
      { source: '/bench' },
    );
    const id = notificationId(eventKey(event), 'verification-to-user');
    started.set(id, performance.now());
    if (i >= warmup) measured.add(id);
    pending.push(relay.ingest(event));
  }
  await Promise.all(pending);
  measuring = false;
  const deadline = performance.now() + 5_000;
  while (latencies.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await bulk;
  await relay.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (latencies.length !== total) throw new Error(`measured ${latencies.length} of ${total} verifications`);
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: Math.max(...latencies),
    count: latencies.length,
    fanouts,
  };
}
