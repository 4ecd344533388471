/**
 * The PostgreSQL floor of `pnpm bench fanout`: the normalised outbox layout of `@idrelay/store-postgres` (schema 3)
 * written plainly with `pg` statements and no store code around them, beside the store's own `enqueue` and
 * `claim` + `settle` through the port, on the same workload: 100,000 users × 2 devices (200,000 deliveries),
 * 5,000-row enqueue batches, 1,000-row claims per platform settled as delivered. Two reps each, best of the two.
 * The tables come from the store's own migration (setup, not timed), so floor and store always share one layout.
 *
 * Run on its own to tune the store (prints rates, rates per CPU-second of this process and call times):
 * `npx pnpm@12.18.0 exec tsx --conditions=@idrelay/source bench/fanout/floor-postgres.ts`.
 * `BENCH_USERS` scales the audience; `IDRELAY_TEST_DATABASE_URL` picks the server (default: local, trust auth).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { DeliveryOutcome, NewDelivery, Platform, PushMessage, Store } from '@idrelay/core';
import { createPostgresStore } from '@idrelay/store-postgres';
import { postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const PLATFORMS = ['apns', 'fcm'] as const;
const ENQUEUE_BATCH = 5_000;
const CLAIM_BATCH = 1_000;
const LEASE_MS = 60_000;

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
  /** Connection string. Default `postgresTestUrl()`. */
  url?: string;
  /** Filled with per-call timings of the last rep (ms) and this process's CPU time. */
  calls?: CallTimes;
}

/** Wall times of single calls (ms), and the CPU time of this process per phase. */
export interface CallTimes {
  enqueue: number[];
  claim: number[];
  settle: number[];
  cpuEnqueueMs: number;
  cpuDispatchMs: number;
  /** CPU time of every PostgreSQL server process on this machine per phase (Linux `/proc`; 0 elsewhere). */
  serverEnqueueMs: number;
  serverDispatchMs: number;
}

/** CPU ms used so far by every process named `postgres` (the server and its backends), from `/proc`. */
function serverCpuMs(): number {
  let ticks = 0;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return 0;
  }
  return ticks * 10;
}

const deviceId = (user: number, platform: Platform) => `u${user}-${platform}`;
const token = (user: number, platform: Platform) => `${platform}-u${user}-token-${'0123456789abcdef'.repeat(4)}`;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1_000;
};

/** A migrated, empty schema of the store's layout, with every device registered (plain inserts, not timed). */
async function prepare(url: string, users: number): Promise<{ schema: string; admin: pg.Pool }> {
  const schema = randomSchemaName('floor');
  await (await createPostgresStore({ connectionString: url, schema })).close();
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const now = Date.now();
  for (let start = 0; start < users; start += 10_000) {
    const ids: string[] = [];
    const userIds: string[] = [];
    const platforms: string[] = [];
    const tokens: string[] = [];
    for (let u = start; u < Math.min(users, start + 10_000); u++) {
      for (const platform of PLATFORMS) {
        ids.push(deviceId(u, platform));
        userIds.push(`u${u}`);
        platforms.push(platform);
        tokens.push(token(u, platform));
      }
    }
    await admin.query(
      `INSERT INTO "${schema}".devices (device_id, user_id, platform, address, topic, environment, created_at,
         updated_at)
       SELECT d, u, p, t, CASE WHEN p = 'apns' THEN 'com.example.app' END, CASE WHEN p = 'apns' THEN 'production' END,
         $5, $5
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(d, u, p, t)`,
      [ids, userIds, platforms, tokens, now],
    );
  }
  await admin.query(`VACUUM ANALYZE "${schema}".devices`);
  return { schema, admin };
}

/** One rep of the plain layout. */
async function rawRep(
  url: string,
  users: number,
  calls?: CallTimes,
): Promise<{ rawEnqueue: number; rawDispatch: number }> {
  const { schema, admin } = await prepare(url, users);
  const s = `"${schema}"`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // The plans the store pins per transaction (ONE_PLAN), set once for this dedicated session: the floor gets the
  // good plan on the freshly filled, unanalysed table without paying for SET LOCAL round trips.
  await client.query(
    'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off',
  );
  try {
    const now = Date.now();
    const { rows: notified } = await client.query(
      `INSERT INTO ${s}.notifications (notification_id, event_key, rule_id, created_at)
       VALUES ('n-floor', '/bench#floor', 'floor', $1) RETURNING id`,
      [now],
    );
    const notification = notified[0].id as number;
    const { rows: stored } = await client.query(
      `INSERT INTO ${s}.messages (notification_ref, variant, body, created_at) VALUES ($1, '', $2, $3) RETURNING id`,
      [notification, JSON.stringify(MESSAGE), now],
    );
    const message = stored[0].id as number;
    const ids = Array.from({ length: users }, (_, u) => PLATFORMS.map((p) => deviceId(u, p))).flat();
    const total = ids.length;

    const insert = `INSERT INTO ${s}.deliveries (due_at, ready_at, created_at, updated_at, notification_ref,
        device_ref, message_ref, priority, attempts, status, platform)
      SELECT $3, $3, $3, $3, $1, v.id, $2, 0, 0, 'pending', v.platform
      FROM unnest($4::text[]) AS x(d)
      -- LIMIT 1 keeps the join a loop of index probes: with 5,000 names the planner would hash every device.
      CROSS JOIN LATERAL (SELECT id, platform FROM ${s}.devices v WHERE v.device_id = x.d AND v.removed_at IS NULL
        LIMIT 1) v
      ON CONFLICT DO NOTHING`;
    let cpu = process.cpuUsage();
    let server = serverCpuMs();
    let t0 = performance.now();
    for (let i = 0; i < total; i += ENQUEUE_BATCH) {
      const c0 = performance.now();
      await client.query(insert, [notification, message, now, ids.slice(i, i + ENQUEUE_BATCH)]);
      calls?.enqueue.push(performance.now() - c0);
    }
    const rawEnqueue = total / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuEnqueueMs = cpuMs(cpu);
    if (calls) calls.serverEnqueueMs = serverCpuMs() - server;

    // The claim takes due rows of one platform in index order, skipping rows other claimers hold, and reads the
    // device's address with them; the settle is fenced by the claim token.
    const claim = `UPDATE ${s}.deliveries d SET status = 'claimed', attempts = d.attempts + 1, claim_token = $4,
        ready_at = $3, updated_at = $2
      FROM ${s}.devices v
      WHERE d.id IN (SELECT id FROM ${s}.deliveries WHERE platform = $1 AND priority = 0 AND ready_at IS NOT NULL
          AND ready_at <= $2 ORDER BY ready_at LIMIT ${CLAIM_BATCH} FOR UPDATE SKIP LOCKED)
        AND v.id = d.device_ref
      RETURNING d.id, d.notification_ref, d.message_ref, d.priority, d.due_at, d.expires_at, d.attempts, d.data,
        d.created_at, v.device_id, v.user_id, v.platform, v.address, v.topic, v.environment, v.p256dh, v.auth,
        v.removed_at`;
    const settle = `UPDATE ${s}.deliveries d SET status = 'delivered', ready_at = NULL, updated_at = $2
      FROM unnest($1::bigint[]) AS o(id) WHERE d.id = o.id AND d.claim_token = $3 AND d.status = 'claimed'
      RETURNING d.id`;
    let claimToken = 0;
    let done = 0;
    cpu = process.cpuUsage();
    server = serverCpuMs();
    t0 = performance.now();
    for (let live: Platform[] = [...PLATFORMS]; live.length > 0; ) {
      for (const platform of [...live]) {
        const c0 = performance.now();
        const at = Date.now();
        claimToken++;
        const { rows } = await client.query(claim, [platform, at, at + LEASE_MS, claimToken]);
        if (rows.length === 0) {
          live = live.filter((p) => p !== platform);
          continue;
        }
        // The address resolved per row, as the store does, into a minimal target.
        const claimed = rows.map((row) => ({ id: row.id as string, token: row.address as string }));
        calls?.claim.push(performance.now() - c0);
        const s0 = performance.now();
        const settled = await client.query(settle, [claimed.map((d) => d.id), at, claimToken]);
        calls?.settle.push(performance.now() - s0);
        done += settled.rowCount ?? 0;
      }
    }
    const rawDispatch = done / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuDispatchMs = cpuMs(cpu);
    if (calls) calls.serverDispatchMs = serverCpuMs() - server;
    if (done !== total) throw new Error(`floor dispatched ${done} of ${total}`);
    return { rawEnqueue, rawDispatch };
  } finally {
    await client.end();
    await admin.query(`DROP SCHEMA ${s} CASCADE`);
    await admin.end();
  }
}

/** One rep through `@idrelay/store-postgres`'s ports (devices registered by plain inserts, not timed). */
async function storeRep(
  url: string,
  users: number,
  calls?: CallTimes,
): Promise<{ storeEnqueue: number; storeDispatch: number }> {
  const { schema, admin } = await prepare(url, users);
  let store: Store | undefined;
  try {
    store = await createPostgresStore({ connectionString: url, schema });
    const now = Date.now();
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

    let cpu = process.cpuUsage();
    let server = serverCpuMs();
    let t0 = performance.now();
    for (let i = 0; i < rows.length; i += ENQUEUE_BATCH) {
      const c0 = performance.now();
      await store.outbox.enqueue(rows.slice(i, i + ENQUEUE_BATCH));
      calls?.enqueue.push(performance.now() - c0);
    }
    const storeEnqueue = rows.length / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuEnqueueMs = cpuMs(cpu);
    if (calls) calls.serverEnqueueMs = serverCpuMs() - server;

    let done = 0;
    cpu = process.cpuUsage();
    server = serverCpuMs();
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
        const at = Date.now();
        const outcomes = batch.map(
          (d): DeliveryOutcome => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered', at }),
        );
        const s0 = performance.now();
        const { settled } = await store.outbox.settle(outcomes);
        calls?.settle.push(performance.now() - s0);
        done += settled;
      }
    }
    const storeDispatch = done / ((performance.now() - t0) / 1_000);
    if (calls) calls.cpuDispatchMs = cpuMs(cpu);
    if (calls) calls.serverDispatchMs = serverCpuMs() - server;
    if (done !== rows.length) throw new Error(`store dispatched ${done} of ${rows.length}`);
    return { storeEnqueue, storeDispatch };
  } finally {
    await store?.close();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.end();
  }
}

const resetCalls = (calls: CallTimes | undefined) => {
  if (!calls) return;
  calls.enqueue.length = calls.claim.length = calls.settle.length = 0;
};

/**
 * The floor: the store's layout written plainly (5,000-row `unnest` batches joined to devices, 1,000-row
 * `FOR UPDATE SKIP LOCKED` claims that read the device address, fenced settles as delivered), rows per second,
 * best of `reps`.
 *
 * @example
 * ```ts
 * const { rawEnqueue, rawDispatch } = await postgresRawFloor();
 * ```
 */
export async function postgresRawFloor(
  options: FloorOptions = {},
): Promise<{ rawEnqueue: number; rawDispatch: number }> {
  const best = { rawEnqueue: 0, rawDispatch: 0 };
  for (let rep = 0; rep < (options.reps ?? 2); rep++) {
    resetCalls(options.calls);
    const r = await rawRep(options.url ?? postgresTestUrl(), options.users ?? USERS, options.calls);
    best.rawEnqueue = Math.max(best.rawEnqueue, r.rawEnqueue);
    best.rawDispatch = Math.max(best.rawDispatch, r.rawDispatch);
  }
  return best;
}

/**
 * The store on the same workload through its ports: `outbox.enqueue` of 5,000 deliveries sharing one message
 * object, then `outbox.claim` of 1,000 per platform and `outbox.settle` as delivered, rows per second, best of
 * `reps`.
 *
 * @example
 * ```ts
 * const { storeEnqueue, storeDispatch } = await postgresStoreRates();
 * ```
 */
export async function postgresStoreRates(
  options: FloorOptions = {},
): Promise<{ storeEnqueue: number; storeDispatch: number }> {
  const best = { storeEnqueue: 0, storeDispatch: 0 };
  for (let rep = 0; rep < (options.reps ?? 2); rep++) {
    resetCalls(options.calls);
    const r = await storeRep(options.url ?? postgresTestUrl(), options.users ?? USERS, options.calls);
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
  const calls = (): CallTimes => ({
    enqueue: [],
    claim: [],
    settle: [],
    cpuEnqueueMs: 0,
    cpuDispatchMs: 0,
    serverEnqueueMs: 0,
    serverDispatchMs: 0,
  });
  const rawCalls = calls();
  const storeCalls = calls();
  const only = process.env.FLOOR_ONLY;
  const reps = Number(process.env.BENCH_REPS ?? 2);
  const raw = only === 'store' ? undefined : await postgresRawFloor({ calls: rawCalls, reps });
  const store = only === 'raw' ? undefined : await postgresStoreRates({ calls: storeCalls, reps });
  const rows = (times: CallTimes) => ({
    enqueuePerCpuS: Math.round((USERS * 2) / (times.cpuEnqueueMs / 1_000)),
    dispatchPerCpuS: Math.round((USERS * 2) / (times.cpuDispatchMs / 1_000)),
    enqueuePerServerCpuS: Math.round((USERS * 2) / (times.serverEnqueueMs / 1_000)),
    dispatchPerServerCpuS: Math.round((USERS * 2) / (times.serverDispatchMs / 1_000)),
    'enqueue call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(times.enqueue, q).toFixed(1)),
    'claim call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(times.claim, q).toFixed(1)),
    'settle call ms p50/p99/max': [0.5, 0.99, 1].map((q) => +quantile(times.settle, q).toFixed(1)),
  });
  console.log(
    JSON.stringify(
      {
        users: USERS,
        rawEnqueue: raw && Math.round(raw.rawEnqueue),
        rawDispatch: raw && Math.round(raw.rawDispatch),
        storeEnqueue: store && Math.round(store.storeEnqueue),
        storeDispatch: store && Math.round(store.storeDispatch),
        'enqueue store/floor': raw && store && +(store.storeEnqueue / raw.rawEnqueue).toFixed(2),
        'dispatch store/floor': raw && store && +(store.storeDispatch / raw.rawDispatch).toFixed(2),
        raw: raw && rows(rawCalls),
        store: store && rows(storeCalls),
      },
      null,
      2,
    ),
  );
}
