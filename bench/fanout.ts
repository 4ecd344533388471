/**
 * `pnpm bench fanout`: an announcement to 100,000 users × 2 devices into no-op transports — deliveries/s to plan
 * and enqueue and to dispatch, and peak RSS, on SQLite (file) and PostgreSQL, each beside the floor (the store's
 * normalised layout written as plain statements) and the store's own port calls, measured in the same run; and MFA
 * verification events at 200/s while such a fan-out drains, ingest → `transport.sendEach` latency.
 * Each phase (raw floor, engine, verification) runs in a fresh child process. Writes bench/results/fanout.json. `BENCH_USERS` scales the audience;
 * `BENCH_ONLY=sqlite,postgres,verification` picks phases; `BENCH_PROFILE=<file>` writes a CPU profile of the plan+enqueue phase.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fanout, rawFloor, USERS, verification } from './fanout/phases.js';
import { createReport, round } from './lib/report.js';

const phase = process.argv.find((a) => a.startsWith('--phase='))?.slice('--phase='.length);

if (phase) {
  const result =
    phase === 'verification'
      ? await verification()
      : phase.endsWith('-floor')
        ? await rawFloor(phase.slice(0, -'-floor'.length))
        : await fanout(phase);
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

function run(name: string): Record<string, number> {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--phase=${name}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`phase ${name} failed (status ${child.status}):\n${child.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
}

const report = createReport('fanout');
const note = `${USERS.toLocaleString('en-US')} users × 2 devices, no-op transports; 2 shared cores, figures are noisy`;
const only = process.env.BENCH_ONLY?.split(',');
for (const driver of (['sqlite', 'postgres'] as const).filter((d) => !only || only.includes(d))) {
  const r = { ...run(`${driver}-floor`), ...run(driver) };
  report.compare(
    {
      case: `enqueue-${driver}`,
      metric: 'plan+enqueue',
      value: round(r.enqueue!, 0),
      unit: 'deliveries/s',
      peer: 'floor: normalised layout, plain statements',
      peer_value: round(r.rawEnqueue!, 0),
      note,
    },
    false,
  );
  report.compare(
    {
      case: `store-enqueue-${driver}`,
      metric: 'outbox.enqueue, 5,000 per call',
      value: round(r.storeEnqueue!, 0),
      unit: 'deliveries/s',
      peer: 'floor: normalised layout, plain statements',
      peer_value: round(r.rawEnqueue!, 0),
      note: 'the store alone, no planning',
    },
    false,
  );
  report.compare(
    {
      case: `dispatch-${driver}`,
      metric: 'claim+send+settle',
      value: round(r.dispatch!, 0),
      unit: 'deliveries/s',
      peer: 'floor: normalised layout, plain statements',
      peer_value: round(r.rawDispatch!, 0),
      note: 'floor = claim 1,000 (device address resolved) + settle, no transport',
    },
    false,
  );
  report.compare(
    {
      case: `store-dispatch-${driver}`,
      metric: 'outbox.claim 1,000 + settle',
      value: round(r.storeDispatch!, 0),
      unit: 'deliveries/s',
      peer: 'floor: normalised layout, plain statements',
      peer_value: round(r.rawDispatch!, 0),
      note: 'the store alone, no transport',
    },
    false,
  );
  report.add({
    case: `peak-rss-${driver}`,
    metric: 'peak RSS',
    value: round(r.peakRssMb!, 1),
    unit: 'MB',
    note: 'relay process (floor measured in another process); includes the in-memory directory of all users',
  });
}
const v = !only || only.includes('verification') ? run('verification') : undefined;
if (v) {
  report.add({
    case: 'verification-latency-p50',
    metric: 'ingest → transport.send p50',
    value: round(v.p50!, 2),
    unit: 'ms',
  });
  report.add({
    case: 'verification-latency-p99',
    metric: 'ingest → transport.send p99',
    value: round(v.p99!, 2),
    unit: 'ms',
    note: `1,000 events at 200/s on SQLite (file) while ${v.fanouts} announcement(s) to ${USERS.toLocaleString('en-US')} users × 2 devices planned and drained, after 100 warm-up events; max ${round(v.max!, 1)} ms`,
  });
}
report.write();
