/**
 * `resolve-attributes-100k-postgres`: an attribute audience streamed out of the store directory on PostgreSQL,
 * beside its floor — the same indexed page query written plainly with `pg` (same page size, same columns decoded
 * into the same user objects), no store code around it.
 *
 * The directory holds `users` people from `workload.ts` (department, location, multi-valued role, title, cost
 * centre, employment type, a subject, locale, time zone, manager). The audience `{ department: five values,
 * location: 'zurich' }` holds exactly `audience` users; a second filter holding half of everyone measures memory:
 * streaming must cost the same memory for 5,000 and for 50,000 users.
 *
 * The tables come from the store's own migration; they are filled with multi-row inserts and vacuumed and analysed
 * (as autovacuum leaves a table), none of it timed.
 *
 * Run on its own: `NODE_OPTIONS=--expose-gc npx pnpm@12.18.0 exec tsx --conditions=@idrelay/source
 * bench/directory/postgres.ts`. `BENCH_USERS` scales the directory; `IDRELAY_TEST_DATABASE_URL` picks the server.
 */
import { pathToFileURL } from 'node:url';
import type { StoredUser, SubjectIdentifier } from '@idrelay/core';
import { subjectKeys } from '@idrelay/core/events';
import { createPostgresStore } from '@idrelay/store-postgres';
import { postgresTestUrl, randomSchemaName } from '@idrelay/testkit';
import pg from 'pg';
import { AUDIENCE_FILTER, directoryUser, HALF_FILTER, PAGE_SIZE, streamAudience, trackMemory } from './workload.js';

const SEED_BATCH = 5_000;

/**
 * The store's page query for a filter led by one single-valued key (`location`, one value) and checked on another
 * (`department`), written out plainly.
 */
const floorPage = (s: string): string => `
  SELECT id, display_name, locale, time_zone, manager_id, active, attributes, subjects, updated_at
  FROM ${s}.directory_users WHERE id = ANY(ARRAY(
    SELECT DISTINCT hit.user_id FROM unnest($2::text[]) AS v(value) CROSS JOIN LATERAL (
      SELECT a.user_id FROM ${s}.directory_attributes a
      WHERE a.name = $1 AND a.value = v.value AND a.user_id > $3
        AND EXISTS (SELECT 1 FROM ${s}.directory_attributes o WHERE o.name = $5 AND o.value = ANY($6::text[])
          AND o.user_id = a.user_id OFFSET 0)
      ORDER BY a.user_id LIMIT $4
    ) AS hit ORDER BY 1 LIMIT $4
  )) ORDER BY id`;

/** A row decoded as the store decodes it (optional fields left out when null). */
function decode(row: Record<string, unknown>): StoredUser {
  const user: StoredUser = {
    id: row.id as string,
    attributes: row.attributes as StoredUser['attributes'],
    active: row.active as boolean,
    updatedAt: Number(row.updated_at),
  };
  if (row.display_name !== null) user.displayName = row.display_name as string;
  if (row.subjects !== null) user.subjects = row.subjects as SubjectIdentifier[];
  if (row.locale !== null) user.locale = row.locale as string;
  if (row.time_zone !== null) user.timeZone = row.time_zone as string;
  if (row.manager_id !== null) user.managerId = row.manager_id as string;
  return user;
}

/** The floor: every page of the audience with one plain statement each; returns how many users it read. */
async function floorResolve(client: pg.Client, schema: string): Promise<number> {
  const text = floorPage(`"${schema}"`);
  let after = '';
  let count = 0;
  for (;;) {
    const { rows } = await client.query(text, [
      'location',
      AUDIENCE_FILTER.location,
      after,
      PAGE_SIZE,
      'department',
      AUDIENCE_FILTER.department,
    ]);
    for (const row of rows) decode(row);
    count += rows.length;
    if (rows.length < PAGE_SIZE) return count;
    after = rows[rows.length - 1].id as string;
  }
}

/** Fills the store's directory tables with `users` people in multi-row inserts, then vacuums and analyses them. */
async function seed(admin: pg.Pool, schema: string, users: number, audience: number): Promise<void> {
  const s = `"${schema}"`;
  for (let start = 0; start < users; start += SEED_BATCH) {
    const batch: StoredUser[] = [];
    for (let i = start; i < Math.min(users, start + SEED_BATCH); i++) batch.push(directoryUser(i, users, audience));
    const attribute = { names: [] as string[], values: [] as string[], ids: [] as string[] };
    const subject = { keys: [] as string[], ids: [] as string[] };
    for (const user of batch) {
      for (const [name, raw] of Object.entries(user.attributes)) {
        for (const value of new Set(typeof raw === 'string' ? [raw] : raw)) {
          attribute.names.push(name);
          attribute.values.push(value);
          attribute.ids.push(user.id);
        }
      }
      for (const key of new Set((user.subjects ?? []).flatMap((id) => subjectKeys(id)))) {
        subject.keys.push(key);
        subject.ids.push(user.id);
      }
    }
    await admin.query(
      `INSERT INTO ${s}.directory_users (id, display_name, locale, time_zone, manager_id, active, attributes,
         subjects, updated_at)
       SELECT id, "displayName", locale, "timeZone", "managerId", true, attributes, subjects, "updatedAt"
       FROM jsonb_to_recordset($1::jsonb) AS x(id text, "displayName" text, locale text, "timeZone" text,
         "managerId" text, attributes jsonb, subjects jsonb, "updatedAt" bigint)`,
      [JSON.stringify(batch)],
    );
    await admin.query(
      `INSERT INTO ${s}.directory_attributes (name, value, user_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])`,
      [attribute.names, attribute.values, attribute.ids],
    );
    await admin.query(
      `INSERT INTO ${s}.directory_subjects (key, user_id) SELECT * FROM unnest($1::text[], $2::text[])`,
      [subject.keys, subject.ids],
    );
  }
  for (const table of ['directory_users', 'directory_attributes', 'directory_subjects']) {
    await admin.query(`VACUUM ANALYZE ${s}.${table}`);
  }
}

const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

/**
 * Measures the PostgreSQL case: users/s of ours and of the floor (best of `reps` alternating runs), their ratio,
 * and heap and RSS growth (MB above a collected baseline, peak while streaming) for the audience and for half of
 * everyone.
 */
export async function postgresDirectoryCase(options: {
  users: number;
  audience: number;
  reps?: number;
  url?: string;
}): Promise<Record<string, number>> {
  const { users, audience } = options;
  const url = options.url ?? postgresTestUrl();
  const schema = randomSchemaName('benchdir');
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const setup = process.hrtime.bigint();
    await (await createPostgresStore({ connectionString: url, schema })).close();
    await seed(admin, schema, users, audience);
    const setupSeconds = seconds(setup);

    const store = await createPostgresStore({ connectionString: url, schema, migrate: false });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let best = 0;
    let bestFloor = 0;
    try {
      for (let rep = 0; rep < (options.reps ?? 3); rep++) {
        const f0 = process.hrtime.bigint();
        const floorCount = await floorResolve(client, schema);
        bestFloor = Math.max(bestFloor, floorCount / seconds(f0));
        if (floorCount !== audience) throw new Error(`floor resolved ${floorCount} users, expected ${audience}`);

        const t0 = process.hrtime.bigint();
        let count = 0;
        for await (const _ of streamAudience(store, AUDIENCE_FILTER)) count++;
        best = Math.max(best, count / seconds(t0));
        if (count !== audience) throw new Error(`the store resolved ${count} users, expected ${audience}`);
      }
      const small = await trackMemory(streamAudience(store, AUDIENCE_FILTER));
      const large = await trackMemory(streamAudience(store, HALF_FILTER));
      if (small.count !== audience || large.count !== Math.floor(users / 2)) {
        throw new Error(`memory runs resolved ${small.count} and ${large.count} users`);
      }
      return {
        usersPerSec: best,
        floorUsersPerSec: bestFloor,
        ratio: best / bestFloor,
        heapGrowthMb5k: small.heapMb,
        heapGrowthMb50k: large.heapMb,
        rssGrowthMb5k: small.rssMb,
        rssGrowthMb50k: large.rssMb,
        largeAudience: large.count,
        setupSeconds,
      };
    } finally {
      await client.end();
      await store.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await postgresDirectoryCase({ users: Number(process.env.BENCH_USERS ?? 100_000), audience: 5_000 }));
}
