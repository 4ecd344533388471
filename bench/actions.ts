/**
 * `pnpm bench actions`: device responses verified and applied per second — read the token, verify the ES256 proof
 * with the enrolled key (cached key object), check bindings, freshness and the number-matching code, consume the
 * token (single use), and move the login verification to `approved` (FlowStore, optimistic concurrency, audit,
 * revocation of the request's other tokens). Beside it, in the same run, the floor on the same database: a bare
 * P-256 verify with a cached key plus one single-use UPDATE (`peer` = floor, `ratio` = ours ÷ floor).
 *
 * Cases `verify-response-sqlite` (a file, one connection, 32 answers in flight as a gateway under load has them;
 * target ≥ 8,000/s), `verify-response-sqlite-sequential` (the same, one answer at a time: no group commit, no
 * thread pool) and `verify-response-postgres` (`IDRELAY_TEST_DATABASE_URL`, pool of 10, 32 in flight; target
 * ≥ 4,000/s). `verify-response-sqlite-vs-same-work` sets the SQLite figure beside our own reads and writes done by
 * hand on node:sqlite (no engine), to tell the work from the overhead. The floors run as they run fastest: the SQLite floor is synchronous (concurrency changes nothing for
 * it), the PostgreSQL floor has 32 in flight too.
 *
 * On PostgreSQL the measured phase starts right after seeding, before autovacuum has analysed the tables: the
 * answer statements keep their key probes without statistics (packages/store-postgres/test/query-plans.test.ts).
 * Before their plans were pinned, this state cost half the throughput.
 *
 * Each case runs `BENCH_ROUNDS` times (default 3), ours and the floors side by side in every round, and every row
 * reports the median round. Each measured phase follows `BENCH_WARMUP` answers (default 2,000) that are not counted,
 * for ours and for the floors. `BENCH_RESPONSES` scales the run; `BENCH_CASES=sqlite` or `postgres` runs those cases;
 * `BENCH_PROFILE=<dir>` writes a CPU profile of each measured phase there (the last round's).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Store } from '@idrelay/core';
import { codeHash, createRelay, signProof, tokenHash } from '@idrelay/engine';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory, postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';
import { measureConcurrent } from './lib/measure.js';
import { profiled } from './lib/profile.js';
import { createReport, round } from './lib/report.js';

const N = Number(process.env.BENCH_RESPONSES ?? 10_000);
// Answers run before each measured phase and not counted (`BENCH_WARMUP`), ours and the floors alike: the measured
// phase starts with the code compiled and the pools connected, as in a gateway that has been up for a while.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);
const TOTAL = N + WARMUP;
// This machine's speed drifts by a quarter within minutes: each case runs `BENCH_ROUNDS` times (ours and its
// floors each round, fresh databases) and reports the medians.
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CODE = '042917';
// `BENCH_CASES=sqlite` (or `postgres`) runs one case and keeps the other's row from the last results file.
const only = process.env.BENCH_CASES;
const selected = (name: string) => only === undefined || only.split(',').some((part) => name.includes(part));
const report = createReport('actions', { keep: (row) => !selected(row.case) });
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
const now = Date.now();

/** N users, each with one enrolled device, a pending verification and its action token; returns signed requests. */
async function seed(store: Store): Promise<{ token: string; proof: string }[]> {
  const requests: { token: string; proof: string }[] = [];
  const tokens = [];
  for (let i = 0; i < TOTAL; i++) {
    const userId = `u-${i}`;
    const deviceId = `d-${i}`;
    const flowId = `v-${i}`;
    await store.devices.upsert({
      deviceId,
      userId,
      platform: 'fcm',
      token: `fcm-token-${i}-xxxxxxxx`,
      publicKey: spki,
      keyAlgorithm: 'ES256',
      createdAt: now,
      updatedAt: now,
    });
    await store.flows.create({
      id: flowId,
      kind: 'login-verification',
      definitionVersion: 1,
      key: flowId,
      state: 'pending',
      data: {
        userId,
        application: { id: 'app' },
        context: {},
        codeHash: codeHash(flowId, CODE),
        expiresAt: now + 3_600_000,
      },
      transitions: 0,
      createdAt: now,
      updatedAt: now,
    });
    const token = randomBytes(32).toString('base64url');
    tokens.push({
      tokenHash: tokenHash(token),
      notificationId: `n-${i}`,
      userId,
      deviceId,
      actions: ['approve', 'deny', 'report'],
      flowId,
      expiresAt: now + 3_600_000,
      createdAt: now,
    });
    const proof = await signProof({
      privateKey,
      algorithm: 'ES256',
      deviceId,
      token,
      method: 'POST',
      url: 'http://localhost/idrelay/actions/respond',
      decision: 'approve',
      code: CODE,
    });
    requests.push({ token, proof });
  }
  for (let i = 0; i < tokens.length; i += 1_000) await store.actionTokens.putMany(tokens.slice(i, i + 1_000));
  return requests;
}

/** Our path: relay.respond() for every request; every one must be applied. */
async function ours(store: Store, concurrency: number) {
  const requests = await seed(store);
  const relay = createRelay({
    store,
    directory: createMemoryDirectory({ users: [] }),
    transports: [],
    rules: [],
    scheduler: { setTimeout: () => undefined, clearTimeout: () => {} },
    retention: false,
  });
  let applied = 0;
  const result = await profiled(`actions-${store.name.split(':')[0]}-${concurrency}`, () =>
    measureConcurrent(
      async (i) => {
        const r = await relay.respond(requests[i]!);
        if (r.state === 'approved') applied++;
      },
      { total: N, warmup: WARMUP, concurrency },
    ),
  );
  await relay.close();
  if (applied !== TOTAL) throw new Error(`only ${applied} of ${TOTAL} responses were applied`);
  return result;
}

// The floor's signature: one ES256 signature over a proof-sized input, verified with the cached key each time.
const input = Buffer.from(randomBytes(300).toString('base64url'));
const signature = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
const bareVerify = () => {
  if (!verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('verify');
};
const hashes = Array.from({ length: TOTAL }, (_, i) => createHash('sha256').update(`floor-${i}`).digest('hex'));

/**
 * The same store work as our path, hand-written on node:sqlite with no engine: per answer a bare verify, the three
 * reads (token, device, flow), then the token consumed, the flow moved at its version, the siblings revoked, the
 * expiry timer deleted and one hash-chained audit entry inserted, 32 answers a transaction (what group commit
 * gives ours at 32 in flight). It shows how much of the gap to the single-UPDATE floor is the work itself.
 */
async function sameWorkFloor(dir: string) {
  const path = join(dir, 'same-work.db');
  const store = await createSqliteStore({ path });
  const requests = await seed(store);
  await store.close();
  const db = new DatabaseSync(path);
  db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  const q = {
    token: db.prepare('SELECT * FROM action_tokens WHERE token_hash = ?'),
    device: db.prepare('SELECT * FROM devices WHERE device_id = ? AND removed_at IS NULL'),
    flow: db.prepare('SELECT * FROM flows WHERE id = ?'),
    consume: db.prepare(`UPDATE action_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL
      AND revoked_at IS NULL AND expires_at > ? RETURNING *`),
    move: db.prepare(`UPDATE flows SET state = 'approved', data = ?, transitions = transitions + 1, updated_at = ?,
      version = version + 1 WHERE id = ? AND version = ? RETURNING *`),
    revoke: db.prepare(`UPDATE action_tokens SET revoked_at = ? WHERE notification_id = ? AND used_at IS NULL
      AND revoked_at IS NULL`),
    timer: db.prepare('DELETE FROM timers WHERE id = ?'),
    audit: db.prepare(`INSERT INTO audit (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  };
  const hashes = requests.map((r) => tokenHash(r.token));
  let seq = 0;
  let prev = '0'.repeat(64);
  let open = 0;
  db.exec('BEGIN IMMEDIATE');
  const result = await profiled('actions-sqlite-same-work', () =>
    measureConcurrent(
      async (i) => {
        const token = q.token.get(hashes[i]!) as Record<string, unknown>;
        const device = q.device.get(token.device_id as string);
        const flow = q.flow.get(token.flow_id as string) as Record<string, unknown>;
        if (device === undefined || flow === undefined) throw new Error('same-work seed');
        bareVerify();
        const now = Date.now();
        if (q.consume.get(now, hashes[i]!, now) === undefined) throw new Error('same-work consume');
        const data = JSON.stringify({ ...JSON.parse(flow.data as string), decidedAt: now });
        if (q.move.get(data, now, flow.id as string, flow.version as number) === undefined) throw new Error('move');
        q.revoke.run(now, token.notification_id as string);
        q.timer.run(`expire:${flow.id as string}`);
        const details = JSON.stringify({ deviceId: token.device_id, decision: 'approve' });
        const body = `{"action":"verification.approved","actor":"${token.user_id as string}","at":${now},"details":${details},"seq":${++seq}}`;
        const hash = createHash('sha256').update(prev).update('\n').update(body).digest('hex');
        q.audit.run(
          seq,
          now,
          'verification.approved',
          token.user_id as string,
          null,
          flow.id as string,
          details,
          prev,
          hash,
        );
        prev = hash;
        if (++open === 32) {
          db.exec('COMMIT');
          db.exec('BEGIN IMMEDIATE');
          open = 0;
        }
      },
      { total: N, warmup: WARMUP, concurrency: 1 },
    ),
  );
  db.exec('COMMIT');
  db.close();
  return result;
}

async function sqliteCase() {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-actions-'));
  try {
    const store = await createSqliteStore({ path: join(dir, 'ours.db') });
    const mine = await ours(store, 32);
    await store.close();
    const sequentialStore = await createSqliteStore({ path: join(dir, 'sequential.db') });
    const sequential = await ours(sequentialStore, 1);
    await sequentialStore.close();
    // Floor: the same pragmas a store file gets (WAL, synchronous NORMAL), one connection.
    const db = new DatabaseSync(join(dir, 'floor.db'));
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    db.exec('CREATE TABLE t (token_hash TEXT PRIMARY KEY, used_at INTEGER)');
    const insert = db.prepare('INSERT INTO t (token_hash) VALUES (?)');
    db.exec('BEGIN');
    for (const h of hashes) insert.run(h);
    db.exec('COMMIT');
    const update = db.prepare('UPDATE t SET used_at = ? WHERE token_hash = ? AND used_at IS NULL');
    const floor = await measureConcurrent(
      async (i) => {
        bareVerify();
        if (update.run(Date.now(), hashes[i]!).changes !== 1) throw new Error('floor update');
      },
      { total: N, warmup: WARMUP, concurrency: 1 },
    );
    db.close();
    const sameWork = await sameWorkFloor(dir);
    return { mine, floor, sequential, sameWork };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresCase() {
  const url = postgresTestUrl();
  const schema = randomSchemaName('benchactions');
  const store = await createPostgresStore({ connectionString: url, schema, maxConnections: 10 });
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  try {
    const mine = await ours(store, 32);
    await pool.query(`CREATE TABLE "${schema}".floor (token_hash text PRIMARY KEY, used_at bigint)`);
    await pool.query(`INSERT INTO "${schema}".floor (token_hash) SELECT unnest($1::text[])`, [hashes]);
    const floor = await measureConcurrent(
      async (i) => {
        bareVerify();
        const r = await pool.query(
          `UPDATE "${schema}".floor SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL`,
          [Date.now(), hashes[i]],
        );
        if (r.rowCount !== 1) throw new Error('floor update');
      },
      { total: N, warmup: WARMUP, concurrency: 32 },
    );
    return { mine, floor };
  } finally {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
}

for (const [name, run, target] of [
  ['verify-response-sqlite', sqliteCase, 8_000],
  ['verify-response-postgres', postgresCase, 4_000],
] as const) {
  if (!selected(name)) continue;
  type Round = Awaited<ReturnType<typeof run>> & {
    sequential?: Awaited<ReturnType<typeof ours>>;
    sameWork?: Awaited<ReturnType<typeof ours>>;
  };
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push((await run()) as Round);
  // Each figure is the median of its rounds: ours, the floor, the sequential and same-work rows each on their own.
  const median = <T extends { opsPerSec: number }>(pick: (round: Round) => T | undefined): T | undefined => {
    const runs = rounds.map(pick).filter((m): m is T => m !== undefined);
    return runs.sort((a, b) => a.opsPerSec - b.opsPerSec)[Math.floor(runs.length / 2)];
  };
  const mine = median((r) => r.mine)!;
  const floor = median((r) => r.floor)!;
  const sequential = median((r) => r.sequential);
  const sameWork = median((r) => r.sameWork);
  const perRound = rounds.map((r) => `${round(r.mine.opsPerSec, 0)}/${round(r.floor.opsPerSec, 0)}`).join(', ');
  // Machine CPU per answer (every core's busy time over the measured phase, database servers included), ours/floor.
  const machine = (m: { machineCpuUs?: number }) => (m.machineCpuUs === undefined ? '?' : round(m.machineCpuUs, 0));
  const perRoundCpu = rounds.map((r) => `${machine(r.mine)}/${machine(r.floor)}`).join(', ');
  if (sameWork !== undefined) {
    report.compare(
      {
        case: `${name}-vs-same-work`,
        metric: 'throughput',
        value: round(mine.opsPerSec, 0),
        unit: 'responses/s',
        peer: 'floor: the same reads and writes hand-written on node:sqlite, 32 a transaction',
        peer_value: round(sameWork.opsPerSec, 0),
        note: `ours at 32 in flight beside our store's own work without the engine (CPU ${round(sameWork.cpuUs, 0)} µs per answer)`,
      },
      false,
    );
  }
  if (sequential !== undefined) {
    report.compare(
      {
        case: `${name}-sequential`,
        metric: 'throughput',
        value: round(sequential.opsPerSec, 0),
        unit: 'responses/s',
        peer: 'floor: bare P-256 verify + one single-use UPDATE',
        peer_value: round(floor.opsPerSec, 0),
        note: `${N} responses one at a time; p50 ${round(sequential.p50Us, 0)} µs, p99 ${round(sequential.p99Us, 0)} µs, CPU ${round(sequential.cpuUs, 0)} µs per response`,
      },
      false,
    );
  }
  report.compare(
    {
      case: name,
      metric: 'throughput',
      value: round(mine.opsPerSec, 0),
      unit: 'responses/s',
      peer: 'floor: bare P-256 verify + one single-use UPDATE',
      peer_value: round(floor.opsPerSec, 0),
      note: `${N} responses, target ≥ ${target.toLocaleString('en-US')}/s; median of ${ROUNDS} rounds (ours/floor: ${perRound}); p50 ${round(mine.p50Us, 0)} µs, p99 ${round(mine.p99Us, 0)} µs, CPU ${round(mine.cpuUs, 0)} µs per response; machine CPU per response, ours/floor: ${perRoundCpu} µs`,
    },
    false,
  );
}
report.write();
