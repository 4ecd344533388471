/**
 * `pnpm bench directory-store`: a 5,000-user attribute audience out of 100,000 users, streamed from the store
 * directory on SQLite (file) and PostgreSQL, each beside its floor (the same indexed page query written plainly);
 * users/s, ratio = ours ÷ floor (target ≥ 0.7), and heap/RSS growth while streaming 5,000 vs 50,000 users (flat
 * when it streams). Each driver runs in a fresh child process, so one's heap never colours the other's.
 * `BENCH_USERS` scales the directory; `BENCH_ONLY=sqlite` or `=postgres` picks one. Writes
 * bench/results/directory-store.json.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { postgresDirectoryCase } from './directory/postgres.js';
import { sqliteDirectoryCase } from './directory/sqlite.js';
import { createReport, round } from './lib/report.js';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const AUDIENCE = 5_000;
const CASES = { sqlite: sqliteDirectoryCase, postgres: postgresDirectoryCase } as const;
type Driver = keyof typeof CASES;

const phase = process.argv.find((a) => a.startsWith('--phase='))?.slice('--phase='.length) as Driver | undefined;
if (phase) {
  const result = await CASES[phase]({ users: USERS, audience: AUDIENCE });
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

function run(driver: Driver): Record<string, number> {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), `--phase=${driver}`],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (child.status !== 0 || !line) throw new Error(`${driver} failed (status ${child.status}):\n${child.stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
}

const only = process.env.BENCH_ONLY?.split(',');
// A run of one driver keeps the other driver's rows from the last run.
const report = createReport('directory-store', {
  keep: (row) => only !== undefined && !only.some((driver) => row.case.endsWith(`-${driver}`)),
});
const scale = `${AUDIENCE.toLocaleString('en-US')} of ${USERS.toLocaleString('en-US')} users`;
for (const driver of (Object.keys(CASES) as Driver[]).filter((d) => !only || only.includes(d))) {
  const r = run(driver);
  report.compare(
    {
      case: `resolve-attributes-${USERS / 1000}k-${driver}`,
      metric: 'attribute audience streamed, 500 per page',
      value: round(r.usersPerSec!, 0),
      unit: 'users/s',
      peer: 'floor: the same page query, plain statements',
      peer_value: round(r.floorUsersPerSec!, 0),
      note: `${scale}, { department: 5 values, location: 1 }; best of several rounds; 2 shared cores, figures are noisy${r.setupSeconds ? `; untimed setup filled the directory through the port in ${round(r.setupSeconds, 1)} s` : ''}`,
    },
    false,
  );
  for (const [size, heap, peak, rss] of [
    [AUDIENCE, r.heapGrowthMb5k!, r.heapPeakMb5k, r.rssGrowthMb5k!],
    [r.largeAudience!, r.heapGrowthMb50k!, r.heapPeakMb50k, r.rssGrowthMb50k!],
  ] as const) {
    const label = `${Math.round(size / 1000)}k`;
    report.add({
      case: `resolve-memory-${label}-${driver}`,
      metric: 'live heap growth while streaming',
      value: round(heap, 2),
      unit: 'MB',
      ...(size === AUDIENCE ? { note: 'heap collected at every page boundary: what the stream holds' } : {}),
    });
    // Cases that measure it also report the peak heap with garbage not yet collected.
    if (peak !== undefined) {
      report.add({
        case: `resolve-memory-${label}-${driver}`,
        metric: 'peak heap growth, garbage included',
        value: round(peak, 1),
        unit: 'MB',
      });
    }
    report.add({
      case: `resolve-memory-${label}-${driver}`,
      metric: 'RSS growth while streaming',
      value: round(rss, 1),
      unit: 'MB',
    });
  }
}
report.write();
