/**
 * A server for `bench/scim.ts`, in its own process so its CPU is not the load generator's. `ours` mounts
 * `createScimHandler()` in a Hono app on `@hono/node-server`; `floor` is a bare Hono handler doing the same indexed
 * work on the same kind of database with no SCIM processing: the bearer check, `userName eq "…"` by regex and one
 * indexed subject → user query (GET); one UPDATE by id (PATCH); one user row + one subject row (POST).
 *
 * argv: mode (`ours` | `floor`), backend (`sqlite` | `postgres`), target (SQLite file, or PostgreSQL schema).
 * Env: `IDRELAY_TEST_DATABASE_URL` for PostgreSQL, `BENCH_TOKEN`. IPC out: `ready` `{ url }`. IPC in: `stop`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { DatabaseSync } from 'node:sqlite';
import type { Store } from '@idrelay/core';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { postgresTestUrl } from '@idrelay/testkit';
import pg from 'pg';
import { createScimHandler, hashScimToken } from '../../packages/identity-scim/src/index.js';

// Hono as @idrelay/gateway resolves it (the root workspace does not depend on it).
const require = createRequire(new URL('../../packages/gateway/package.json', import.meta.url));
const { Hono } = require('hono') as typeof import('../../packages/gateway/node_modules/hono/dist/types/index.js');
const { serve } =
  require('@hono/node-server') as typeof import('../../packages/gateway/node_modules/@hono/node-server/dist/index.mjs');

const [mode, backend, target] = process.argv.slice(2) as [string, string, string];
const token = process.env.BENCH_TOKEN as string;
const digest = createHash('sha256').update(token).digest();
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

function authorised(header: string | undefined): boolean {
  const match = header === undefined ? null : /^Bearer[ ]+([\x21-\x7e]+)$/i.exec(header);
  if (match?.[1] === undefined) return false;
  return timingSafeEqual(createHash('sha256').update(match[1]).digest(), digest);
}

type Row = { id: string; attributes: string | Record<string, unknown>; active: unknown; updated_at: unknown };

/** The floor's database access: the same indexed query and single-row writes the store does, nothing else. */
async function floorDatabase(): Promise<{
  byUserName(key: string): Promise<Row | undefined>;
  touch(id: string, title: string): Promise<boolean>;
  insert(id: string, key: string, attributes: string): Promise<void>;
}> {
  if (backend === 'sqlite') {
    const db = new DatabaseSync(target);
    db.exec(
      'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000',
    );
    const find = db.prepare(
      'SELECT u.id, u.attributes, u.active, u.updated_at FROM user_subjects s CROSS JOIN users u ON u.id = s.user_id WHERE s.key = ?',
    );
    const update = db.prepare('UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?');
    const insertUser = db.prepare(
      "INSERT INTO users (id, active, updated_at, attributes, subjects) VALUES (?, 1, ?, ?, '[]')",
    );
    const insertSubject = db.prepare('INSERT INTO user_subjects (key, user_id) VALUES (?, ?)');
    return {
      byUserName: async (key) => find.get(key) as Row | undefined,
      touch: async (id, title) => update.run(title, Date.now(), id).changes === 1,
      insert: async (id, key, attributes) => {
        db.exec('BEGIN');
        insertUser.run(id, Date.now(), attributes);
        insertSubject.run(key, id);
        db.exec('COMMIT');
      },
    };
  }
  const pool = new pg.Pool({ connectionString: postgresTestUrl(), max: 10 });
  const users = `"${target}".directory_users`;
  const subjects = `"${target}".directory_subjects`;
  return {
    byUserName: async (key) =>
      (
        await pool.query(
          `SELECT id, attributes, active, updated_at FROM ${users} WHERE id = (SELECT user_id FROM ${subjects} WHERE key = $1)`,
          [key],
        )
      ).rows[0] as Row | undefined,
    touch: async (id, title) =>
      ((
        await pool.query(`UPDATE ${users} SET display_name = $2, updated_at = $3 WHERE id = $1`, [
          id,
          title,
          Date.now(),
        ])
      ).rowCount ?? 0) === 1,
    insert: async (id, key, attributes) => {
      await pool.query(
        `WITH u AS (INSERT INTO ${users} (id, active, updated_at, attributes, subjects) VALUES ($1, true, $3, $4::jsonb, '[]'::jsonb) RETURNING id)
         INSERT INTO ${subjects} (key, user_id) SELECT $2, id FROM u`,
        [id, key, Date.now(), attributes],
      );
    },
  };
}

async function openStore(): Promise<Store> {
  if (backend === 'sqlite') return createSqliteStore({ path: target });
  return createPostgresStore({ connectionString: postgresTestUrl(), schema: target });
}

const app = new Hono();
let close: () => Promise<void> = async () => {};
if (mode === 'ours') {
  const store = await openStore();
  close = () => store.close();
  const scim = createScimHandler({ store, tokens: [hashScimToken(token)] });
  app.all('/scim/v2/*', (c) => scim(c.req.raw));
} else {
  const db = await floorDatabase();
  let ids = 0;
  const unauthorised = () => new Response('{"status":"401"}', { status: 401 });
  app.get('/scim/v2/Users', async (c) => {
    if (!authorised(c.req.header('authorization'))) return unauthorised();
    const match = /^userName eq "([^"]*)"$/.exec(c.req.query('filter') ?? '');
    if (match?.[1] === undefined) return c.json({ status: '400' }, 400);
    const row = await db.byUserName(`opaque:scim:userName:${match[1].toLowerCase()}`);
    const resources = [];
    if (row !== undefined) {
      const attributes = typeof row.attributes === 'string' ? JSON.parse(row.attributes) : row.attributes;
      resources.push({ schemas: [USER_SCHEMA], id: row.id, userName: attributes.userName, active: row.active !== 0 });
    }
    return c.json({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: resources.length,
      startIndex: 1,
      itemsPerPage: resources.length,
      Resources: resources,
    });
  });
  app.patch('/scim/v2/Users/:id', async (c) => {
    if (!authorised(c.req.header('authorization'))) return unauthorised();
    const body = (await c.req.json()) as { Operations?: { value?: unknown }[] };
    const title = String(body.Operations?.[0]?.value ?? '');
    if (!(await db.touch(c.req.param('id'), title))) return c.json({ status: '404' }, 404);
    return c.json({ schemas: [USER_SCHEMA], id: c.req.param('id'), title });
  });
  app.post('/scim/v2/Users', async (c) => {
    if (!authorised(c.req.header('authorization'))) return unauthorised();
    const body = (await c.req.json()) as { userName: string };
    const id = `floor-${process.pid}-${++ids}`;
    await db.insert(
      id,
      `opaque:scim:userName:${body.userName.toLowerCase()}`,
      JSON.stringify({ userName: body.userName }),
    );
    return c.json({ schemas: [USER_SCHEMA], id, userName: body.userName }, 201);
  });
}

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${info.port}` });
});
process.on('message', async (message: { type?: string }) => {
  if (message.type !== 'stop') return;
  server.close();
  await close();
  process.exit(0);
});
