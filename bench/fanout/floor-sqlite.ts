/**
 * The SQLite floor of `pnpm bench fanout`: the normalised outbox layout of `@idrelay/store-sqlite` (schema 3)
 * written plainly with `node:sqlite` statements and no store code around it, beside the store's own `enqueue` and
 * `claim` + `settle` through the port, on the same workload: 100,000 users × 2 devices (200,000 deliveries),
 * 5,000-row enqueue batches, 1,000-row claims per platform settled as delivered. Two reps each, best of the two.
 *
 * Run on its own to tune the store (prints rates, CPU rates and how long single calls block the event loop):
 * `npx pnpm@12.18.0 exec tsx --conditions=@idrelay/source bench/fanout/floor-sqlite.ts [--shuffled]`.
 * `--shuffled` registers devices in random order, so device refs are not in fan-out order (as in a real directory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import type { DeliveryOutcome, NewDelivery, Platform, PushMessage } from '@idrelay/core';
import { createSqliteStore } from '@idrelay/store-sqlite';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const PLATFORMS = ['apns', 'fcm'] as const;
const ENQUEUE_BATCH = 5_000;
const CLAIM_BATCH = 1_000;
const LEASE_MS = 60_000;

/** The tables of schema 3 a fan-out touches, with the store's indexes (checked against the store before timing). */
const SCHEMA = `
  CREATE TABLE devices (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL,
    platform TEXT NOT NULL, address TEXT NOT NULL, topic TEXT, environment TEXT, p256dh TEXT, auth TEXT,
    public_key TEXT, key_algorithm TEXT, name TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    removed_at INTEGER);
  CREATE UNIQUE INDEX devices_address ON devices (platform, address) WHERE removed_at IS NULL;
  CREATE INDEX devices_user ON devices (user_id) WHERE removed_at IS NULL;
  CREATE INDEX devices_removed ON devices (removed_at) WHERE removed_at IS NOT NULL;
  CREATE TABLE notifications (id INTEGER PRIMARY KEY, notification_id TEXT NOT NULL UNIQUE, event_key TEXT NOT NULL,
    rule_id TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX notifications_event ON notifications (event_key);
  CREATE INDEX notifications_created ON notifications (created_at);
  CREATE TABLE messages (id INTEGER PRIMARY KEY, notification_ref INTEGER NOT NULL, variant TEXT NOT NULL,
    body TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (notification_ref, variant));
  CREATE INDEX messages_created ON messages (created_at);
  CREATE TABLE deliveries (id INTEGER PRIMARY KEY, notification_ref INTEGER NOT NULL, device_ref INTEGER NOT NULL,
    message_ref INTEGER NOT NULL, platform TEXT NOT NULL, status INTEGER NOT NULL, priority INTEGER NOT NULL,
    due_at INTEGER NOT NULL, ready_at INTEGER, expires_at INTEGER, attempts INTEGER NOT NULL, claim_token INTEGER,
    data TEXT, last_error TEXT, provider_message_id TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
  CREATE UNIQUE INDEX deliveries_pair ON deliveries (device_ref, notification_ref);
  CREATE INDEX deliveries_notification ON deliveries (notification_ref);
  CREATE INDEX deliveries_ready ON deliveries (platform, priority DESC, ready_at) WHERE ready_at IS NOT NULL;
  CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE ready_at IS NULL;`;

const INSERT = `INSERT INTO deliveries (notification_ref, device_ref, message_ref, platform, status, priority, due_at,
    ready_at, expires_at, attempts, data, created_at, updated_at)
  SELECT ?1, v.id, ?2, v.platform, 0, 0, ?3, ?3, NULL, 0, NULL, ?3, ?3
  FROM json_each(?4) AS j JOIN devices v ON v.device_id = j.value AND v.removed_at IS NULL
  WHERE true ON CONFLICT DO NOTHING`;
const DUE = `SELECT id FROM deliveries INDEXED BY deliveries_ready
  WHERE platform = ? AND priority = 0 AND ready_at <= ? ORDER BY ready_at, id LIMIT ?`;
const CLAIM = `UPDATE deliveries SET status = 1, attempts = attempts + 1, claim_token = ?, ready_at = ?, updated_at = ?
  WHERE id IN (SELECT value FROM json_each(?))
  RETURNING id, notification_ref, message_ref, device_ref, platform, priority, due_at, expires_at, attempts, data,
    last_error, created_at`;
const DEVICES = `SELECT id, device_id, user_id, platform, address, topic, environment, p256dh, auth, removed_at
  FROM devices WHERE id IN (SELECT value FROM json_each(?))`;
const SETTLE = `UPDATE deliveries SET status = 2, ready_at = NULL, provider_message_id = coalesce(?, provider_message_id),
  updated_at = ? WHERE id = ? AND claim_token = ? AND status = 1`;

const MESSAGE: PushMessage = {
  id: 'n-floor',
  title: 'All hands',
  body: 'Open the app to read it.',
  urgency: 'normal',
  data: { type: 'x' },
};

/** Options of the two measurements. */
export interface FloorOptions {
  /** Users (2 devices each). Default `BENCH_USERS` or 100,000. */
  users?: number;
  /** Repetitions; the best rate of each phase counts. Default 2. */
  reps?: number;
  /** Register devices in random order, so device refs are not in fan-out order. Default false. */
  shuffled?: boolean;
  /** Filled with per-call timings of the last rep (ms), for the report on event-loop blocking. */
  calls?: CallTimes;
}

/** Wall times of single calls, ms. */
export interface CallTimes {
  enqueue: number[];
  claim: number[];
  settle: number[];
  cpuEnqueueMs: number;
  cpuDispatchMs: number;
  /** Event-loop delay p99 and max (ms) while the store enqueued, and while it claimed and settled (store only). */
  loopDelayEnqueueMs: number[];
  loopDelayDispatchMs: number[];
}

/**
 * A turn of the event loop between two store calls, as a relay has (it sends, it receives): without it one call's
 * last slice and the next call's first would run as one stretch, and the delay would measure the bench, not a call.
 */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Watches event-loop delay at 1 ms resolution: the longest delay is the longest a single call held the loop. */
function loopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return () => {
    histogram.disable();
    return [histogram.percentile(99) / 1e6, histogram.max / 1e6];
  };
}

const userOrder = (users: number, shuffled: boolean): number[] => {
  const order = Array.from({ length: users }, (_, i) => i);
  if (!shuffled) return order;
  let seed = 20_261_202;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
};

const deviceId = (user: number, platform: Platform) => `u${user}-${platform}`;
const token = (user: number, platform: Platform) => `${platform}-u${user}-token-${'0123456789abcdef'.repeat(4)}`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1_000;
};

/** One rep of the plain layout. */
function rawRep(users: number, shuffled: boolean, calls?: CallTimes): { rawEnqueue: number; rawDispatch: number } {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-floor-sqlite-'));
  const db = new DatabaseSync(join(dir, 'floor.db'));
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
    db.exec(SCHEMA);
    const now = Date.now();
    const addDevice = db.prepare(
      `INSERT INTO devices (device_id, user_id, platform, address, topic, environment, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.exec('BEGIN');
    for (const u of userOrder(users, shuffled)) {
      addDevice.run(deviceId(u, 'apns'), `u${u}`, 'apns', token(u, 'apns'), 'com.example.app', 'production', now, now);
      addDevice.run(deviceId(u, 'fcm'), `u${u}`, 'fcm', token(u, 'fcm'), null, null, now, now);
    }
    db.exec('COMMIT');
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const notification = db
      .prepare(
        `INSERT INTO notifications (notification_id, event_key, rule_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
      )
      .get('n-floor', '/bench#floor', 'floor', now) as { id: number };
    const message = db
      .prepare('INSERT INTO messages (notification_ref, variant, body, created_at) VALUES (?, ?, ?, ?) RETURNING id')
      .get(notification.id, '', JSON.stringify(MESSAGE), now) as { id: number };

    const ids = Array.from({ length: users }, (_, u) => PLATFORMS.map((p) => deviceId(u, p))).flat();
    const insert = db.prepare(INSERT);
    const total = ids.length;
    let cpu = process.cpuUsage();
    let t0 = performance.now();
    for (let i = 0; i < total; i += ENQUEUE_BATCH) {
      const c0 = performance.now();
      db.exec('BEGIN IMMEDIATE');
      insert.run(notification.id, message.id, now, JSON.stringify(ids.slice(i, i + ENQUEUE_BATCH)));
      db.exec('COMMIT');
      calls?.enqueue.push(performance.now() - c0);
    }
    const rawEnqueue = total / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuEnqueueMs = cpuMs(cpu);

    const due = db.prepare(DUE);
    const claim = db.prepare(CLAIM);
    const devices = db.prepare(DEVICES);
    const settle = db.prepare(SETTLE);
    let claimToken = 0;
    let done = 0;
    cpu = process.cpuUsage();
    t0 = performance.now();
    for (let live = [...PLATFORMS]; live.length > 0; ) {
      for (const platform of [...live]) {
        const c0 = performance.now();
        const at = Date.now();
        const chosen = (due.all(platform, at, CLAIM_BATCH) as { id: number }[]).map((row) => row.id);
        if (chosen.length === 0) {
          live = live.filter((p) => p !== platform);
          continue;
        }
        claimToken++;
        db.exec('BEGIN IMMEDIATE');
        const rows = claim.all(claimToken, at + LEASE_MS, at, JSON.stringify(chosen)) as {
          id: number;
          device_ref: number;
        }[];
        const byId = new Map(
          (devices.all(JSON.stringify(rows.map((r) => r.device_ref))) as { id: number; address: string }[]).map((d) => [
            d.id,
            d,
          ]),
        );
        db.exec('COMMIT');
        // The address resolved per row, as the store does, into a minimal target.
        const claimed = rows.map((row) => ({ id: row.id, token: byId.get(row.device_ref)!.address }));
        calls?.claim.push(performance.now() - c0);
        const s0 = performance.now();
        db.exec('BEGIN IMMEDIATE');
        for (const d of claimed) settle.run(null, at, d.id, claimToken);
        db.exec('COMMIT');
        calls?.settle.push(performance.now() - s0);
        done += claimed.length;
      }
    }
    const rawDispatch = done / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuDispatchMs = cpuMs(cpu);
    if (done !== total) throw new Error(`floor dispatched ${done} of ${total}`);
    return { rawEnqueue, rawDispatch };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One rep through `@idrelay/store-sqlite`'s ports. */
async function storeRep(
  users: number,
  shuffled: boolean,
  calls?: CallTimes,
): Promise<{ storeEnqueue: number; storeDispatch: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-store-sqlite-'));
  const store = await createSqliteStore({ path: join(dir, 'store.db') });
  try {
    const now = Date.now();
    for (const u of userOrder(users, shuffled)) {
      for (const platform of PLATFORMS) {
        await store.devices.upsert(
          platform === 'apns'
            ? {
                deviceId: deviceId(u, platform),
                userId: `u${u}`,
                platform,
                token: token(u, platform),
                topic: 'com.example.app',
                environment: 'production',
                createdAt: now,
                updatedAt: now,
              }
            : {
                deviceId: deviceId(u, platform),
                userId: `u${u}`,
                platform,
                token: token(u, platform),
                createdAt: now,
                updatedAt: now,
              },
        );
      }
    }
    const rows: NewDelivery[] = Array.from({ length: users }, (_, u) =>
      PLATFORMS.map(
        (platform): NewDelivery => ({
          eventKey: '/bench#store',
          notificationId: 'n-store',
          ruleId: 'store',
          userId: `u${u}`,
          deviceId: deviceId(u, platform),
          platform,
          dueAt: now,
          message: MESSAGE,
        }),
      ),
    ).flat();
    const batches: NewDelivery[][] = [];
    for (let i = 0; i < rows.length; i += ENQUEUE_BATCH) batches.push(rows.slice(i, i + ENQUEUE_BATCH));

    let cpu = process.cpuUsage();
    let delay = loopDelay();
    let t0 = performance.now();
    for (const batch of batches) {
      const c0 = performance.now();
      await store.outbox.enqueue(batch);
      calls?.enqueue.push(performance.now() - c0);
      await nextTurn();
    }
    const storeEnqueue = rows.length / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuEnqueueMs = cpuMs(cpu);
    if (calls) calls.loopDelayEnqueueMs = delay();

    let done = 0;
    cpu = process.cpuUsage();
    delay = loopDelay();
    t0 = performance.now();
    for (let live: Platform[] = [...PLATFORMS]; live.length > 0; ) {
      for (const platform of [...live]) {
        const c0 = performance.now();
        const batch = await store.outbox.claim({
          limit: CLAIM_BATCH,
          now: Date.now(),
          leaseMs: LEASE_MS,
          platforms: [platform],
        });
        if (batch.length === 0) {
          live = live.filter((p) => p !== platform);
          continue;
        }
        calls?.claim.push(performance.now() - c0);
        await nextTurn();
        const at = Date.now();
        const outcomes = batch.map(
          (d): DeliveryOutcome => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered', at }),
        );
        const s0 = performance.now();
        const { settled } = await store.outbox.settle(outcomes);
        calls?.settle.push(performance.now() - s0);
        await nextTurn();
        done += settled;
      }
    }
    const storeDispatch = done / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuDispatchMs = cpuMs(cpu);
    if (calls) calls.loopDelayDispatchMs = delay();
    if (done !== rows.length) throw new Error(`store dispatched ${done} of ${rows.length}`);
    return { storeEnqueue, storeDispatch };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const resetCalls = (calls: CallTimes | undefined) => {
  if (!calls) return;
  calls.enqueue.length = calls.claim.length = calls.settle.length = 0;
};

/**
 * The floor: the store's layout written plainly (5,000-row JSON batches joined to devices, 1,000-row claims that
 * read the device address, settles as delivered), rows per second, best of `reps`.
 *
 * @example
 * ```ts
 * const { rawEnqueue, rawDispatch } = await sqliteRawFloor();
 * ```
 */
export async function sqliteRawFloor(options: FloorOptions = {}): Promise<{ rawEnqueue: number; rawDispatch: number }> {
  const best = { rawEnqueue: 0, rawDispatch: 0 };
  for (let rep = 0; rep < (options.reps ?? 2); rep++) {
    resetCalls(options.calls);
    const r = rawRep(options.users ?? USERS, options.shuffled ?? false, options.calls);
    best.rawEnqueue = Math.max(best.rawEnqueue, r.rawEnqueue);
    best.rawDispatch = Math.max(best.rawDispatch, r.rawDispatch);
  }
  return best;
}

/**
 * The store on the same workload through its ports: `outbox.enqueue` of 5,000 deliveries sharing one message
 * object, then `outbox.claim` of 1,000 per platform and `outbox.settle` as delivered, rows per second, best of `reps`.
 *
 * @example
 * ```ts
 * const { storeEnqueue, storeDispatch } = await sqliteStoreRates();
 * ```
 */
export async function sqliteStoreRates(
  options: FloorOptions = {},
): Promise<{ storeEnqueue: number; storeDispatch: number }> {
  const best = { storeEnqueue: 0, storeDispatch: 0 };
  for (let rep = 0; rep < (options.reps ?? 2); rep++) {
    resetCalls(options.calls);
    const r = await storeRep(options.users ?? USERS, options.shuffled ?? false, options.calls);
    best.storeEnqueue = Math.max(best.storeEnqueue, r.storeEnqueue);
    best.storeDispatch = Math.max(best.storeDispatch, r.storeDispatch);
  }
  return best;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const shuffled = process.argv.includes('--shuffled');
  const calls = (): CallTimes => ({
    enqueue: [],
    claim: [],
    settle: [],
    cpuEnqueueMs: 0,
    cpuDispatchMs: 0,
    loopDelayEnqueueMs: [],
    loopDelayDispatchMs: [],
  });
  const rawCalls = calls();
  const storeCalls = calls();
  const raw = await sqliteRawFloor({ shuffled, calls: rawCalls });
  const store = await sqliteStoreRates({ shuffled, calls: storeCalls });
  const rows = (options: CallTimes) => ({
    enqueuePerCpuS: Math.round((USERS * 2) / (options.cpuEnqueueMs / 1_000)),
    dispatchPerCpuS: Math.round((USERS * 2) / (options.cpuDispatchMs / 1_000)),
    'enqueue call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(options.enqueue, q).toFixed(1)),
    'claim call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(options.claim, q).toFixed(1)),
    'settle call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(options.settle, q).toFixed(1)),
    'store event-loop delay ms p99/max, enqueue': options.loopDelayEnqueueMs.map((ms) => +ms.toFixed(1)),
    'store event-loop delay ms p99/max, dispatch': options.loopDelayDispatchMs.map((ms) => +ms.toFixed(1)),
  });
  console.log(
    JSON.stringify(
      {
        users: USERS,
        shuffled,
        rawEnqueue: Math.round(raw.rawEnqueue),
        rawDispatch: Math.round(raw.rawDispatch),
        storeEnqueue: Math.round(store.storeEnqueue),
        storeDispatch: Math.round(store.storeDispatch),
        'enqueue store/floor': +(store.storeEnqueue / raw.rawEnqueue).toFixed(2),
        'dispatch store/floor': +(store.storeDispatch / raw.rawDispatch).toFixed(2),
        raw: rows(rawCalls),
        store: rows(storeCalls),
      },
      null,
      2,
    ),
  );
}
