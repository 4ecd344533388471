import { isIdrelayError, type Store, verifyAuditChain } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { createPostgresStore } from '../src/index.js';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

/**
 * What a failover, a server restart or an operator's `pg_terminate_backend` does to a connection in use. Before
 * the fix, a checked-out node-postgres client had no `error` listener, so each of these crashed the whole process
 * with an unhandled `error` event — which vitest reports as a failed run, so every test here also checks that the
 * process survived.
 */
describe.skipIf(!postgres.available)('PostgreSQL store when the server drops a connection in use', () => {
  const schemas = testSchemas(postgres.url, 'dropped');
  afterAll(() => schemas.dropAll());
  let tags = 0;

  /** A connection string whose backends carry a tag of their own in `pg_stat_activity`. */
  const tagged = () => {
    const tag = `idrelay_${process.pid}_${++tags}`;
    const url = new URL(postgres.url);
    url.searchParams.set('application_name', tag);
    return { tag, url: url.toString() };
  };

  /** Polls `pg_stat_activity` (no timers) until a backend of `tag` matches `where`, then terminates it. */
  const terminateWhen = async (tag: string, where: string): Promise<void> => {
    for (let look = 0; look < 20_000; look++) {
      const { rows } = await schemas.admin.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND ${where}`,
        [tag],
      );
      if (rows.length > 0) {
        expect(rows).toEqual([{ ok: true }]);
        return;
      }
    }
    throw new Error(`no backend of ${tag} where ${where}`);
  };

  /** An admin transaction holding a row lock, so the store's statement waits on it, active, until released. */
  const holdLock = async (sql: string, values: unknown[]) => {
    const holder = await schemas.admin.connect();
    await holder.query('BEGIN');
    await holder.query(sql, values);
    return async () => {
      await holder.query('ROLLBACK');
      holder.release();
    };
  };

  const unavailable = (error: unknown) => isIdrelayError(error, 'ERR_STORE_UNAVAILABLE');
  /** The error `call` fails with (handled at once, so the rejection never counts as unhandled), or 'resolved'. */
  const failure = (call: Promise<unknown>): Promise<unknown> =>
    call.then(
      () => 'resolved',
      (error: unknown) => error,
    );

  for (const pooled of ['its own pool', 'a pool the caller passed, with no error listener'] as const) {
    it(`fails a plain statement with ERR_STORE_UNAVAILABLE and serves the next call (${pooled})`, async () => {
      const { tag, url } = tagged();
      const schema = schemas.next();
      const pool = pooled === 'its own pool' ? undefined : new pg.Pool({ connectionString: url, max: 2 });
      const store: Store = await createPostgresStore(
        pool === undefined ? { connectionString: url, schema, maxConnections: 2 } : { pool, schema },
      );
      await store.flows.create({
        id: 'f-1',
        kind: 'access-approval',
        definitionVersion: 1,
        key: 'r-1',
        state: 'pending',
        data: {},
        transitions: 0,
        createdAt: 1,
        updatedAt: 1,
      });
      // flows.update is one UPDATE outside any transaction; it waits on the admin's row lock until killed.
      const release = await holdLock(`SELECT 1 FROM "${schema}".flows WHERE id = 'f-1' FOR UPDATE`, []);
      const update = failure(store.flows.update('f-1', 1, { state: 'approved', updatedAt: 2 }));
      await terminateWhen(tag, `wait_event_type = 'Lock'`);
      expect(unavailable(await update)).toBe(true);
      await release();
      expect(await store.flows.update('f-1', 1, { state: 'approved', updatedAt: 3 })).toMatchObject({
        state: 'approved',
        version: 2,
      });
      await store.close();
      await pool?.end();
    });
  }

  it('fails a transaction cut off mid-way with ERR_STORE_UNAVAILABLE; nothing of it is kept, the next one works', async () => {
    const { tag, url } = tagged();
    const schema = schemas.next();
    const store = await createPostgresStore({ connectionString: url, schema, maxConnections: 2 });
    await store.audit.append([{ at: 1, action: 'a', actor: 'x' }]);
    // audit.append's one statement moves the chain's head row, so it waits on the admin's lock of that row.
    const release = await holdLock(`SELECT 1 FROM "${schema}".audit_head FOR UPDATE`, []);
    const append = failure(store.audit.append([{ at: 2, action: 'b', actor: 'x' }]));
    await terminateWhen(tag, `wait_event_type = 'Lock'`);
    expect(unavailable(await append)).toBe(true);
    await release();
    await store.audit.append([{ at: 3, action: 'c', actor: 'x' }]);
    const chain = await store.audit.list({ limit: 10 });
    expect(chain.map((e) => e.action)).toEqual(['a', 'c']);
    expect(verifyAuditChain(chain)).toBeUndefined();
    await store.close();
  });

  it('survives a connection dropped while idle inside a transaction, and never lends that connection again', async () => {
    const { tag, url } = tagged();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const ended: Promise<void>[] = [];
    pool.on('connect', (client) => ended.push(new Promise((resolve) => client.once('end', () => resolve()))));
    const context = createContext({ pool, ownsPool: false, schema: schemas.next(), name: 'dropped', now: () => 0 });
    const outcome = failure(
      context.transaction(async (tx) => {
        await tx('SELECT 1');
        // Between two statements, no query in flight: the server's FATAL message arrives as a client `error` event.
        await terminateWhen(tag, `state = 'idle in transaction'`);
        await ended[0];
        return tx('SELECT 2');
      }),
    );
    expect(unavailable(await outcome)).toBe(true);
    // One connection in the pool: the broken one was destroyed, so this runs on a new connection.
    expect((await context.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
    expect(ended).toHaveLength(2);
    await context.close();
    await pool.end();
  });

  it('fails a long plain query cut off by pg_terminate_backend, and serves the next call', async () => {
    const { tag, url } = tagged();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const context = createContext({ pool, ownsPool: false, schema: schemas.next(), name: 'dropped', now: () => 0 });
    const sleeping = failure(context.query('SELECT pg_sleep(30)'));
    await terminateWhen(tag, `state = 'active' AND query LIKE '%pg_sleep%'`);
    expect(unavailable(await sleeping)).toBe(true);
    expect((await context.query('SELECT 4 AS four')).rows).toEqual([{ four: 4 }]);
    await context.close();
    await pool.end();
  });

  it('survives its idle pooled connection being terminated, reporting at most ERR_STORE_UNAVAILABLE once', async () => {
    const { tag, url } = tagged();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const ended = new Promise<void>((resolve) => pool.once('connect', (client) => client.once('end', resolve)));
    const store = await createPostgresStore({ pool, schema: schemas.next() });
    await store.events.get('warm#up');
    // What a server restart or failover does to an idle pooled connection: the pool emits `error`, which would
    // crash a process whose pool has no listener. The store listens on the pool it was given, beside its owner.
    await terminateWhen(tag, `state = 'idle'`);
    await ended;
    const first = await store.events.get('after#kill').then(
      () => 'ok',
      (error: unknown) => (unavailable(error) ? 'unavailable' : error),
    );
    expect(['ok', 'unavailable']).toContain(first);
    expect(await store.events.get('after#kill')).toBeUndefined();
    await store.close();
    // close() takes its listener off the caller's pool again.
    expect(pool.listenerCount('error')).toBe(0);
    await pool.end();
  });
});
