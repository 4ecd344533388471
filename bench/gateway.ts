/**
 * `pnpm bench gateway`: the gateway over loopback HTTP, each case beside a floor measured in the same run — a bare
 * `@hono/node-server` handler that parses the same body and does the same single insert on the same kind of
 * SQLite database (`peer` = the floor, `ratio` = ours ÷ floor, so above 1 is faster for rates and slower or
 * larger for latencies and memory). Servers run in their own processes; autocannon drives them from this one.
 *
 * - `ingest-http`, `ingest-http-p99`: `POST /v1/events` (one structured CloudEvent per request, each a new id)
 *   on the embedded default (SQLite file, sandbox transports); target ≥ 3,000 events/s, p99 < 50 ms.
 * - `mfa-push-e2e-p99`: `POST /v1/verifications` → the push accepted by the APNs stand-in, open loop at
 *   200 requests/s after 200 uncounted ones; target p99 < 25 ms.
 * - `respond-http`: signed device responses (`POST /v1/actions`) verified and applied per second; target ≥ 3,000/s.
 * - `start-ready`, `start-ready-rss`: `idrelay start` on an empty directory until `/readyz` answers 200, and its
 *   idle RSS; target ≤ 3 s, ≤ 150 MB.
 *
 * The throughput runs follow 1,000 uncounted requests and the latency run 200, for ours and the floor alike, so
 * neither is measured cold (start-ready measures the cold start). `BENCH_QUICK=1` runs a short smoke (small
 * counts); `BENCH_CASES=ingest,mfa,respond,start` picks cases.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEvent } from '@idrelay/core/events';
import { freePort, startApnsStandIn } from '@idrelay/testkit';
import autocannon from 'autocannon';
import { type BenchServer, startServer } from './gateway/servers.js';
import { timed } from './lib/cannon.js';
import { percentile } from './lib/measure.js';
import { type BenchRow, createReport, round } from './lib/report.js';

const QUICK = process.env.BENCH_QUICK === '1';
const INGEST_N = Number(process.env.BENCH_INGEST ?? (QUICK ? 2_000 : 30_000));
const E2E_N = Number(process.env.BENCH_E2E ?? (QUICK ? 200 : 2_000));
const E2E_WARMUP = QUICK ? 50 : 200;
/** Requests before each throughput run (ingest, respond), for ours and the floor, not counted: a warm process. */
const WARMUP = QUICK ? 200 : 1_000;
const RESPOND_N = Number(process.env.BENCH_RESPONSES ?? (QUICK ? 500 : 5_000));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const E2E_RATE = 200;
const only = process.env.BENCH_CASES;
const selected = (name: string) => only === undefined || only.split(',').some((part) => name.includes(part));
const report = createReport('gateway', { keep: (row) => !selected(row.case) });
const key = `idr_${randomBytes(32).toString('base64url')}`;
const now = () => performance.timeOrigin + performance.now();
const load = `${QUICK ? 'BENCH_QUICK smoke' : 'full run'}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at start`;

/** Adds a row with `ratio` = ours ÷ floor. */
function row(r: Omit<BenchRow, 'ratio'> & { peer: string; peer_value: number }) {
  report.add({ ...r, ratio: round(r.value / r.peer_value, 2) });
}

/** A structured CloudEvent per request, each with a new id; the subject is nobody in the directory (no fan-out). */
const template = JSON.stringify(
  createEvent(
    'idrelay.access.denied',
    { requestId: 'req-bench', approver: { id: 'bob' }, decidedAt: new Date().toISOString() },
    {
      source: 'https://iam.example.com',
      id: '__ID__',
      idrelaysubject: { format: 'email', email: 'nobody@example.com' },
    },
  ),
);

async function ingest(server: BenchServer, label: string) {
  let i = 0;
  const run = (amount: number) =>
    autocannon({
      url: `${server.url}/v1/events`,
      connections: CONNECTIONS,
      amount,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      requests: [{ setupRequest: (request) => ({ ...request, body: template.replace('__ID__', `${label}-${i++}`) }) }],
    });
  await run(WARMUP);
  const { result, seconds } = await timed(run(INGEST_N));
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label} ingest: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rate: result['2xx'] / seconds, p99: result.latency.p99, p50: result.latency.p50 };
}

/**
 * Open loop: one verification every 1000/E2E_RATE ms, each for its own user; latency to the push at the stand-in.
 * `E2E_WARMUP` verifications (users after the measured ones) go first and are not counted, for ours and the floor
 * alike: without them the p99 of 2,000 is the first second of a cold process (the JIT, the first TLS session to
 * APNs), not a tail a running gateway has.
 */
async function mfaPush(server: BenchServer) {
  const interval = 1000 / E2E_RATE;
  let refusal: string | undefined;
  /** Sends `count` verifications for users `u-<first>`…, one every `interval`; when each was sent, by user. */
  const openLoop = async (first: number, count: number) => {
    const sent = new Map<string, number>();
    const answers: Promise<number>[] = [];
    const started = now();
    for (let i = 0; i < count; i++) {
      const due = started + i * interval;
      const wait = due - now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const userId = `u-${first + i}`;
      sent.set(userId, now());
      answers.push(
        fetch(`${server.url}/v1/verifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId, application: { id: 'erp', name: 'ERP' }, ip: '203.0.113.9' }),
        }).then(async (r) => {
          const text = await r.text();
          if (r.status >= 300 && refusal === undefined) refusal = `${r.status} ${text.slice(0, 300)}`;
          return r.status;
        }),
      );
    }
    const refused = (await Promise.all(answers)).filter((s) => s >= 300).length;
    if (refused > 0) throw new Error(`mfa: ${refused} of ${count} verification requests refused (first: ${refusal})`);
    return sent;
  };
  await openLoop(E2E_N, E2E_WARMUP);
  if ((await server.waitForPushes(E2E_WARMUP, 30_000)) < E2E_WARMUP)
    throw new Error('mfa: the warm-up pushes did not all arrive');
  const sent = await openLoop(0, E2E_N);
  const arrived = (await server.waitForPushes(E2E_WARMUP + E2E_N, 30_000)) - E2E_WARMUP;
  if (arrived < E2E_N) throw new Error(`mfa: only ${arrived} of ${E2E_N} pushes reached the APNs stand-in`);
  const latencies = [...sent].map(([userId, at]) => (server.pushes.get(userId) as number) - at);
  return { p99: percentile(latencies, 0.99), p50: percentile(latencies, 0.5) };
}

async function respond(server: BenchServer, label: string) {
  const { bodies } = await server.ask<{ bodies: string[] }>('seed-responses');
  let i = 0;
  const run = (amount: number) =>
    autocannon({
      url: `${server.url}/v1/actions`,
      connections: CONNECTIONS,
      amount,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      requests: [{ setupRequest: (request) => ({ ...request, body: bodies[i++] as string }) }],
    });
  await run(WARMUP);
  const { result, seconds } = await timed(run(RESPOND_N));
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label} respond: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  return { rate: result['2xx'] / seconds, p99: result.latency.p99 };
}

/** Spawns `args` in an empty directory until `/readyz` answers 200; then idles a second and reads VmRSS. */
async function startReady(args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-start-'));
  const port = await freePort();
  const tsx = fileURLToPath(import.meta.resolve('tsx'));
  const t0 = now();
  const child = spawn(
    process.execPath,
    ['--conditions=@idrelay/source', '--import', tsx, ...args.map((a) => a.replace('PORT', String(port)))],
    { cwd: dir, stdio: 'ignore', env: { ...process.env, NODE_ENV: 'production', IDRELAY_LOG_LEVEL: 'silent' } },
  );
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      if (now() - t0 > 60_000) throw new Error(`${args.join(' ')} not ready within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyMs = now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssMb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    return { readyMs, rssMb };
  } finally {
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await gone;
    rmSync(dir, { recursive: true, force: true });
  }
}

const FLOOR = 'floor: bare @hono/node-server handler, JSON.parse + one INSERT on a SQLite file (WAL)';
const needServers = selected('ingest-http') || selected('mfa-push-e2e') || selected('respond-http');

/**
 * The APNs stand-in runs here, in the load generator's process, not in the server under test: APNs is a remote
 * service, and a stand-in inside the gateway's process would add its own request handling to the gateway's event
 * loop (and the gateway's load to every push's round trip). Both servers, ours (through `apns.origin` in its
 * configuration) and the floor, send to it over TLS with a provider token, as they would to Apple.
 */
async function startRemoteApns() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const teamId = 'BENCHTEAM1';
  const keyId = 'BENCHKEY01';
  const standIn = await startApnsStandIn({ publicKey, teamId, keyId, record: false });
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-apns-'));
  const keyPath = join(dir, 'AuthKey_BENCHKEY01.p8');
  const caPath = join(dir, 'ca.pem');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  writeFileSync(caPath, standIn.ca);
  process.env.BENCH_APNS = JSON.stringify({ origin: standIn.origin, caPath, keyPath, teamId, keyId });
  return {
    async close() {
      await standIn.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

if (needServers) {
  const remoteApns = await startRemoteApns();
  const users = Math.max(E2E_N + E2E_WARMUP, RESPOND_N + WARMUP);
  const measured: Record<
    'ours' | 'floor',
    {
      ingest?: Awaited<ReturnType<typeof ingest>>;
      mfa?: Awaited<ReturnType<typeof mfaPush>>;
      respond?: Awaited<ReturnType<typeof respond>>;
    }
  > = { ours: {}, floor: {} };
  for (const mode of ['ours', 'floor'] as const) {
    const server = await startServer(mode, { users, responses: RESPOND_N + WARMUP, key });
    try {
      if (selected('ingest-http')) measured[mode].ingest = await ingest(server, mode);
      if (selected('mfa-push-e2e')) measured[mode].mfa = await mfaPush(server);
      if (selected('respond-http')) measured[mode].respond = await respond(server, mode);
    } finally {
      await server.stop();
    }
  }
  await remoteApns.close();
  const { ours, floor } = measured;
  if (ours.ingest && floor.ingest) {
    const note = `${INGEST_N} POSTs after ${WARMUP} uncounted, ${CONNECTIONS} connections (autocannon), ingest limit raised; no recipients in the directory (validation, dedupe, store, audit, planning); ${load}`;
    row({
      case: 'ingest-http',
      metric: 'throughput',
      value: round(ours.ingest.rate, 0),
      unit: 'events/s',
      peer: FLOOR,
      peer_value: round(floor.ingest.rate, 0),
      note: `${note}; target ≥ 3,000/s`,
    });
    row({
      case: 'ingest-http-p99',
      metric: 'latency p99',
      value: ours.ingest.p99,
      unit: 'ms',
      peer: FLOOR,
      peer_value: floor.ingest.p99,
      note: `${note}; p50 ${ours.ingest.p50} ms vs ${floor.ingest.p50} ms; target < 50 ms`,
    });
  }
  if (ours.mfa && floor.mfa) {
    row({
      case: 'mfa-push-e2e-p99',
      metric: 'latency p99',
      value: round(ours.mfa.p99, 1),
      unit: 'ms',
      peer: 'floor: bare handler, JSON.parse + one INSERT, then the same APNs transport sends to its own stand-in',
      peer_value: round(floor.mfa.p99, 1),
      note: `${E2E_N} POST /v1/verifications open loop at ${E2E_RATE}/s after ${E2E_WARMUP} uncounted, each user one APNs device; until the delivered receipt (the stand-in, in the load generator’s process, answered 200); p50 ${round(ours.mfa.p50, 1)} ms vs ${round(floor.mfa.p50, 1)} ms; target < 25 ms; ${load}`,
    });
  }
  if (ours.respond && floor.respond) {
    row({
      case: 'respond-http',
      metric: 'throughput',
      value: round(ours.respond.rate, 0),
      unit: 'responses/s',
      peer: 'floor: bare handler, JSON.parse + a bare P-256 verify + one single-use UPDATE',
      peer_value: round(floor.respond.rate, 0),
      note: `${RESPOND_N} signed approvals with number-matching codes after ${WARMUP} uncounted, ${CONNECTIONS} connections; each verified (ES256 proof, token, freshness, code) and applied; p99 ${ours.respond.p99} ms vs ${floor.respond.p99} ms; target ≥ 3,000/s; ${load}`,
    });
  }
}

if (selected('start-ready')) {
  const cli = fileURLToPath(new URL('../packages/gateway/src/cli.ts', import.meta.url));
  const bare = fileURLToPath(new URL('./gateway/bare-ready.ts', import.meta.url));
  const ours = await startReady([cli, 'start', '--port', 'PORT']);
  const floor = await startReady([bare, 'PORT']);
  const how = `spawned with Node ${process.version} + tsx from source (a built dist starts faster); empty directory; ${load}`;
  row({
    case: 'start-ready',
    metric: 'cold start',
    value: round(ours.readyMs, 0),
    unit: 'ms',
    peer: 'floor: node + tsx, bare @hono/node-server with one SQLite file opened',
    peer_value: round(floor.readyMs, 0),
    note: `idrelay start until /readyz 200 (SQLite created and migrated, three sandbox stand-ins started); ${how}; target ≤ 3,000 ms`,
  });
  row({
    case: 'start-ready-rss',
    metric: 'idle RSS',
    value: round(ours.rssMb, 1),
    unit: 'MB',
    peer: 'floor: the same bare process',
    peer_value: round(floor.rssMb, 1),
    note: `1 s after ready; ${how}; target ≤ 150 MB`,
  });
}

report.write();
