/**
 * `pnpm bench scim`: the SCIM endpoint of `@idrelay/identity-scim` over loopback HTTP (autocannon), each figure
 * beside a floor measured in the same run on the same database: a bare Hono handler doing the same indexed work
 * with no SCIM processing (see `bench/scim/server-process.ts`). Server and load generator run in separate
 * processes.
 *
 * Cases (issue 24): `load-100k-postgres` (POST N users, 10 connections; the SQLite load is reported too),
 * `filtered-get-postgres` and `filtered-get-sqlite` (`GET /Users?filter=userName eq "…"` for random users, at 10
 * and at 50 connections), `patch-postgres` and `patch-sqlite` (PATCH replace `title`, 10 connections).
 * `peer` = the floor, `ratio` = ours ÷ floor (rates) or floor ÷ ours (times).
 *
 * Env: `BENCH_SCIM_USERS` (default 100,000), `BENCH_SCIM_SECONDS` per throughput run (default 10),
 * `BENCH_CASES=sqlite|postgres`, `IDRELAY_TEST_DATABASE_URL` for PostgreSQL.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@idrelay/core';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';
import { type CannonRun, timed } from './lib/cannon.js';
import { createReport, round } from './lib/report.js';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
}
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: CannonRequest) => CannonRequest;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  requests: CannonRequest[];
}) => Promise<CannonResult> & CannonRun<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const N = Number(process.env.BENCH_SCIM_USERS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SCIM_SECONDS ?? 10);
const TOKEN = 'bench-scim-token';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const only = process.env.BENCH_CASES;
const selected = (name: string) => only === undefined || only.split(',').some((part) => name.includes(part));
const report = createReport('scim', { keep: (row) => !selected(row.case) });
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' };

interface Server {
  url: string;
  stop(): Promise<void>;
}

async function start(mode: 'ours' | 'floor', backend: string, target: string): Promise<Server> {
  const child = fork(new URL('./scim/server-process.ts', import.meta.url), [mode, backend, target], {
    execArgv: ['--conditions=@idrelay/source', '--import', 'tsx'],
    env: { ...process.env, BENCH_TOKEN: TOKEN, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.send({ type: 'stop' });
      }),
  };
}

const pick = () => Math.floor(Math.random() * N);

/** POSTs N users (unique userNames) over 10 connections; seconds taken. */
async function load(server: Server, prefix: string): Promise<{ seconds: number; failed: number }> {
  let next = 0;
  const { result, seconds } = await timed(
    autocannon({
      url: server.url,
      connections: 10,
      amount: N,
      requests: [
        {
          method: 'POST',
          path: '/scim/v2/Users',
          headers,
          setupRequest: (request) => {
            const i = next++;
            return {
              ...request,
              body: JSON.stringify({
                schemas: [USER_SCHEMA],
                userName: `${prefix}${i}@example.com`,
                emails: [{ type: 'work', primary: true, value: `${prefix}${i}@example.com` }],
                displayName: `User ${i}`,
              }),
            };
          },
        },
      ],
    }),
  );
  return { seconds, failed: result.non2xx + result.errors };
}

async function filteredGet(server: Server, connections: number): Promise<CannonResult> {
  return autocannon({
    url: server.url,
    connections,
    duration: SECONDS,
    requests: [
      {
        method: 'GET',
        headers,
        setupRequest: (request) => ({
          ...request,
          path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "ours${pick()}@example.com"`)}`,
        }),
      },
    ],
  });
}

async function patch(server: Server, ids: readonly string[]): Promise<CannonResult> {
  let n = 0;
  return autocannon({
    url: server.url,
    connections: 10,
    duration: SECONDS,
    requests: [
      {
        method: 'PATCH',
        headers,
        setupRequest: (request) => {
          const i = n++;
          return {
            ...request,
            path: `/scim/v2/Users/${encodeURIComponent(ids[i % ids.length] as string)}`,
            body: JSON.stringify({
              schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
              Operations: [{ op: 'replace', path: 'title', value: `title ${i}` }],
            }),
          };
        },
      },
    ],
  });
}

/** Both servers answer the same lookup, then get 2 s of the same load, so neither is measured with a cold JIT. */
async function warm(server: Server): Promise<void> {
  const filter = encodeURIComponent('userName eq "OURS0@example.com"');
  const answer = (await (await fetch(`${server.url}/scim/v2/Users?filter=${filter}`, { headers })).json()) as {
    totalResults: number;
  };
  if (answer.totalResults !== 1) throw new Error(`${server.url} did not find ours0@example.com`);
  await autocannon({
    url: server.url,
    connections: 10,
    duration: 2,
    requests: [{ method: 'GET', headers, path: `/scim/v2/Users?filter=${filter}` }],
  });
}

function checkClean(what: string, result: CannonResult): void {
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
}

async function run(backend: 'sqlite' | 'postgres'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-scim-'));
  const schemas: string[] = [];
  const open = async (name: string): Promise<{ store: Store; target: string }> => {
    if (backend === 'sqlite') {
      const path = join(dir, `${name}.db`);
      return { store: await createSqliteStore({ path }), target: path };
    }
    const schema = randomSchemaName();
    schemas.push(schema);
    return { store: await createPostgresStore({ connectionString: postgresTestUrl(), schema }), target: schema };
  };
  try {
    // The SQLite store owns its file (one process): every server opens it alone, one after the other.
    const main = await open('ours');
    await main.store.close();
    const floorDb = await open('floor');
    await floorDb.store.close();

    // Loading N users: the floor into its own tables, ours into the tables every later case reads.
    const floorServer = await start('floor', backend, floorDb.target);
    const floorLoad = await load(floorServer, 'floor');
    await floorServer.stop();
    const oursServer = await start('ours', backend, main.target);
    const oursLoad = await load(oursServer, 'ours');
    if (oursLoad.failed > 0 || floorLoad.failed > 0) {
      throw new Error(`load: ${oursLoad.failed} (ours) and ${floorLoad.failed} (floor) POSTs failed`);
    }
    report.compare(
      {
        case: `load-100k-${backend}`,
        metric: `POST ${N.toLocaleString('en-US')} users over HTTP, 10 connections`,
        value: round(oursLoad.seconds, 2),
        unit: 's',
        peer: 'floor: bare Hono POST, one user row + one subject row',
        peer_value: round(floorLoad.seconds, 2),
        note: `ours per POST: userName lookup, validation, one transaction (user, subjects, attribute rows); ${round(N / oursLoad.seconds, 0)} users/s vs ${round(N / floorLoad.seconds, 0)}/s`,
      },
      // ratio = ours ÷ floor, as the issue defines it (lower is better for a load time).
      false,
    );

    // PATCH targets: the first 2,000 users, read through the endpoint.
    const ids: string[] = [];
    for (let startIndex = 1; ids.length < Math.min(N, 2000); startIndex += 100) {
      const page = (await (
        await fetch(`${oursServer.url}/scim/v2/Users?startIndex=${startIndex}&count=100`, { headers })
      ).json()) as { Resources: { id: string }[] };
      if (page.Resources.length === 0) break;
      ids.push(...page.Resources.map((resource) => resource.id));
    }

    // A filter no index answers walks every user: its cost per request, for the README's Limits.
    const scanStarted = performance.now();
    for (let i = 0; i < 3; i++) {
      const filter = encodeURIComponent(`displayName eq "User ${pick()}"`);
      const answer = await fetch(`${oursServer.url}/scim/v2/Users?filter=${filter}`, { headers });
      if (answer.status !== 200) throw new Error(`scan filter answered ${answer.status}`);
      await answer.arrayBuffer();
    }
    // No floor does this: it goes into the filtered-get note, documenting filters not anchored on userName or id.
    const scanMs = round((performance.now() - scanStarted) / 3, 0);

    const ours: CannonResult[] = [];
    await warm(oursServer);
    for (const connections of [10, 50]) ours.push(await filteredGet(oursServer, connections));
    const oursPatch = await patch(oursServer, ids);
    await oursServer.stop();
    const floorServe = await start('floor', backend, main.target);
    const floor: CannonResult[] = [];
    await warm(floorServe);
    for (const connections of [10, 50]) floor.push(await filteredGet(floorServe, connections));
    const floorPatch = await patch(floorServe, ids);
    await floorServe.stop();
    for (const [what, result] of [
      ['GET ours', ours[0]],
      ['GET ours 50', ours[1]],
      ['GET floor', floor[0]],
      ['GET floor 50', floor[1]],
      ['PATCH ours', oursPatch],
      ['PATCH floor', floorPatch],
    ] as const) {
      checkClean(what, result as CannonResult);
    }
    [10, 50].forEach((connections, index) => {
      const mine = ours[index] as CannonResult;
      const bare = floor[index] as CannonResult;
      report.compare(
        {
          case: connections === 10 ? `filtered-get-${backend}` : `filtered-get-${backend}-50`,
          metric: `GET /Users?filter=userName eq, ${connections} connections, ${N.toLocaleString('en-US')} users`,
          value: round(mine.requests.average, 0),
          unit: 'req/s',
          peer: 'floor: bare Hono handler, same indexed query',
          peer_value: round(bare.requests.average, 0),
          note: `p99 ${mine.latency.p99} ms (floor ${bare.latency.p99} ms), p50 ${mine.latency.p50} ms; a filter no index answers (displayName eq) walks every user: ${scanMs} ms per request; load average ${round(before, 1)} before the run`,
        },
        false,
      );
    });
    report.compare(
      {
        case: `patch-${backend}`,
        metric: `PATCH replace title, 10 connections, ${ids.length} users cycled`,
        value: round(oursPatch.requests.average, 0),
        unit: 'req/s',
        peer: 'floor: bare Hono PATCH, one UPDATE by id',
        peer_value: round(floorPatch.requests.average, 0),
        note: `p99 ${oursPatch.latency.p99} ms (floor ${floorPatch.latency.p99} ms); ours reads the user, applies the PatchOp and rewrites user, subjects and attribute rows in one transaction`,
      },
      false,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (schemas.length > 0) {
      const admin = new pg.Client({ connectionString: postgresTestUrl() });
      await admin.connect();
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  }
}

const before = loadavg()[0] ?? 0;
if (selected('sqlite')) await run('sqlite');
if (selected('postgres')) await run('postgres');
report.write();
