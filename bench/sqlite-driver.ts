/**
 * `pnpm bench sqlite-driver`: node:sqlite (built into Node 22) against libsql 0.5.29 (better-sqlite3 API, prebuilt
 * binary) for the embedded store, on the outbox workload: open a fresh file, insert 200,000 deliveries in one
 * transaction with a prepared statement, claim them 1,000 at a time with `UPDATE … WHERE id IN (SELECT … LIMIT)
 * RETURNING`, and the RSS at the end. Then the same rows through `@idrelay/store-sqlite` itself (enqueue in
 * batches of 1,000, claim + settle in batches of 1,000) beside those raw floors. Each of the three runs in its
 * own child process, so one's heap and native allocations never colour another's RSS.
 *
 * Rates are given per wall-clock second and per CPU second of the process: on a shared machine the wall figure
 * swings with everyone else's load, the CPU figure much less (the work is in-process; WAL commits with
 * `synchronous = NORMAL` do not wait for the disk). Writes bench/results/sqlite-driver.json; see
 * decisions/0020-sqlite-driver.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createReport, round } from './lib/report.js';

const ROWS = 200_000;
const BATCH = 1_000;
const SCHEMA = `
  CREATE TABLE deliveries (id INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
    priority INTEGER NOT NULL, due_at INTEGER NOT NULL, lease_until INTEGER, attempts INTEGER NOT NULL,
    message TEXT NOT NULL);
  CREATE INDEX deliveries_ready ON deliveries (priority DESC, due_at, id) WHERE status = 'pending';`;
const INSERT = `INSERT INTO deliveries (idempotency_key, status, priority, due_at, attempts, message)
  VALUES (?, 'pending', 0, ?, 0, ?) ON CONFLICT (idempotency_key) DO NOTHING`;
const CLAIM = `UPDATE deliveries SET status = 'claimed', attempts = attempts + 1, lease_until = ?
  WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND due_at <= ? ORDER BY priority DESC, due_at, id LIMIT ?)
  RETURNING id, message`;
const MESSAGE = JSON.stringify({
  id: 'n-1',
  urgency: 'normal',
  title: 'Maintenance tonight',
  body: 'Systems down 22:00–23:00.',
});

/** Wall and CPU time of one phase, ms. */
interface Phase {
  wallMs: number;
  cpuMs: number;
}

/** What a child reports. */
interface Figures {
  open?: Phase;
  insert?: Phase;
  claim?: Phase;
  enqueue?: Phase;
  dispatch?: Phase;
  rssMb: number;
}

/** Times `work` in wall-clock and process CPU. */
async function phase(work: () => unknown): Promise<Phase> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/** The subset both drivers share: prepare/run/all and exec. */
interface Db {
  exec(sql: string): void;
  prepare(sql: string): { run(...p: unknown[]): unknown; all(...p: unknown[]): unknown[] };
  close(): void;
}

async function rawWorkload(open: (file: string) => Db, file: string): Promise<Omit<Figures, 'rssMb'>> {
  let db: Db | undefined;
  const opened = await phase(() => {
    db = open(file);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA locking_mode = EXCLUSIVE');
  });
  const conn = db!;
  conn.exec(SCHEMA);
  const insert = conn.prepare(INSERT);
  const inserted = await phase(() => {
    conn.exec('BEGIN');
    for (let i = 0; i < ROWS; i++) insert.run(`event-1|rule-1|device-${i}`, i, MESSAGE);
    conn.exec('COMMIT');
  });
  const claim = conn.prepare(CLAIM);
  let count = 0;
  const claimed = await phase(() => {
    for (;;) {
      const rows = claim.all(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, BATCH);
      if (rows.length === 0) break;
      count += rows.length;
    }
  });
  if (count !== ROWS) throw new Error(`claimed ${count} of ${ROWS}`);
  conn.close();
  return { open: opened, insert: inserted, claim: claimed };
}

async function storeWorkload(file: string): Promise<Omit<Figures, 'rssMb'>> {
  const { createSqliteStore } = await import('@idrelay/store-sqlite');
  const store = await createSqliteStore({ path: file });
  const message = JSON.parse(MESSAGE);
  // Built per batch, as a planner would hand them over, so the RSS figure is the store's and not 200k objects'.
  const batch = (b: number) =>
    Array.from({ length: BATCH }, (_, j) => {
      const n = b * BATCH + j;
      return {
        eventKey: 'src#event-1',
        notificationId: 'n-1',
        ruleId: 'rule-1',
        userId: `user-${n >> 1}`,
        deviceId: `device-${n}`,
        platform: 'fcm' as const,
        dueAt: 0,
        message,
      };
    });
  // Deliveries reference registered devices; registering them is setup, not part of the timed workload.
  for (let n = 0; n < ROWS; n++) {
    await store.devices.upsert({
      deviceId: `device-${n}`,
      userId: `user-${n >> 1}`,
      platform: 'fcm',
      token: `token-${n}`,
      createdAt: 0,
      updatedAt: 0,
    });
  }
  const enqueue = await phase(async () => {
    for (let b = 0; b < ROWS / BATCH; b++) await store.outbox.enqueue(batch(b));
  });
  let settled = 0;
  const dispatch = await phase(async () => {
    for (;;) {
      const now = Date.now();
      const claimed = await store.outbox.claim({ limit: BATCH, now, leaseMs: 60_000 });
      if (claimed.length === 0) break;
      await store.outbox.settle(
        claimed.map((d) => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered' as const, at: now })),
      );
      settled += claimed.length;
    }
  });
  if (settled !== ROWS) throw new Error(`settled ${settled} of ${ROWS}`);
  await store.close();
  return { enqueue, dispatch };
}

async function child(kind: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-sqlite-'));
  try {
    const require = createRequire(import.meta.url);
    let figures: Omit<Figures, 'rssMb'>;
    if (kind === 'node:sqlite') {
      // Only this child loads node:sqlite bare; drop its one-off experimental warning from the bench output.
      const emit = process.emitWarning;
      process.emitWarning = (() => {}) as typeof process.emitWarning;
      const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
      process.emitWarning = emit;
      figures = await rawWorkload((file) => new DatabaseSync(file) as unknown as Db, join(dir, 'raw.db'));
    } else if (kind === 'libsql') {
      const Database = require('libsql') as new (file: string) => Db;
      figures = await rawWorkload((file) => new Database(file), join(dir, 'raw.db'));
    } else {
      figures = await storeWorkload(join(dir, 'store.db'));
    }
    process.stdout.write(`${JSON.stringify({ ...figures, rssMb: process.memoryUsage.rss() / 1e6 })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const asChild = process.argv.find((arg) => arg.startsWith('--driver='));
if (asChild !== undefined) {
  await child(asChild.slice('--driver='.length));
} else {
  const run = (kind: string): Figures => {
    const result = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), `--driver=${kind}`],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    if (result.status !== 0) throw new Error(`${kind} run failed (${result.status})`);
    return JSON.parse(result.stdout.trim().split('\n').pop()!) as Figures;
  };
  const load = loadavg()[0]!;
  const node = run('node:sqlite');
  const libsql = run('libsql');
  const store = run('store');
  const rate = (p: Phase | undefined, clock: 'wallMs' | 'cpuMs') => ROWS / (p![clock] / 1000);
  const report = createReport('sqlite-driver');
  const peer = 'libsql@0.5.29';
  const noisy = `shared 2-core machine, load average ${load.toFixed(1)} before / ${loadavg()[0]!.toFixed(1)} after: wall figures are noisy, compare ratios and CPU figures`;
  report.compare(
    {
      case: 'open-file',
      metric: 'open + WAL (wall)',
      value: round(node.open!.wallMs, 2),
      unit: 'ms',
      peer,
      peer_value: round(libsql.open!.wallMs, 2),
      note: noisy,
    },
    true,
  );
  for (const clock of ['wallMs', 'cpuMs'] as const) {
    const per = clock === 'wallMs' ? 'rows/s' : 'rows/CPU-s';
    report.compare(
      {
        case: `insert-200k-one-tx`,
        metric: `insert (${per})`,
        value: rate(node.insert, clock),
        unit: per,
        peer,
        peer_value: rate(libsql.insert, clock),
      },
      false,
    );
    report.compare(
      {
        case: `claim-batches-1000`,
        metric: `claim (${per})`,
        value: rate(node.claim, clock),
        unit: per,
        peer,
        peer_value: rate(libsql.claim, clock),
      },
      false,
    );
  }
  report.compare(
    {
      case: 'rss-after-workload',
      metric: 'rss',
      value: round(node.rssMb, 1),
      unit: 'MB',
      peer,
      peer_value: round(libsql.rssMb, 1),
      note: 'includes tsx in both',
    },
    true,
  );
  for (const clock of ['wallMs', 'cpuMs'] as const) {
    const per = clock === 'wallMs' ? 'rows/s' : 'rows/CPU-s';
    report.compare(
      {
        case: 'store-enqueue',
        metric: `outbox.enqueue x1,000 (${per})`,
        value: rate(store.enqueue, clock),
        unit: per,
        peer: 'raw floor: node:sqlite insert',
        peer_value: rate(node.insert, clock),
        note: 'engine target >= 80,000/s',
      },
      false,
    );
    report.compare(
      {
        case: 'store-dispatch',
        metric: `outbox.claim+settle x1,000 (${per})`,
        value: rate(store.dispatch, clock),
        unit: per,
        peer: 'raw floor: node:sqlite claim',
        peer_value: rate(node.claim, clock),
        note: 'engine target >= 50,000/s',
      },
      false,
    );
  }
  report.add({
    case: 'store-rss',
    metric: 'rss after 200k enqueue + dispatch',
    value: round(store.rssMb, 1),
    unit: 'MB',
  });
  report.write();
}
