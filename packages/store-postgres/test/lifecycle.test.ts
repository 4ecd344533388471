import { isIdrelayError } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createContext } from '../src/context.js';
import { createPostgresStore, SCHEMA_VERSION } from '../src/index.js';
import { MIGRATIONS, migrate } from '../src/migrations/migrate.js';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

describe.skipIf(!postgres.available)('PostgreSQL store lifecycle', () => {
  const schemas = testSchemas(postgres.url, 'lifecycle');
  afterAll(() => schemas.dropAll());

  it('creates its schema and tables from nothing, recording each migration once', async () => {
    const schema = schemas.next();
    const store = await schemas.open({}, schema);
    await store.close();
    const { rows } = await schemas.admin.query(`SELECT version, name FROM "${schema}".schema_migrations ORDER BY 1`);
    expect(rows).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'digests' },
      { version: 3, name: 'normalised-outbox' },
      { version: 4, name: 'directory' },
      { version: 5, name: 'token-purposes' },
      { version: 6, name: 'plain-lookup-indexes' },
      { version: 7, name: 'answer-batch-function' },
      { version: 8, name: 'generic-answer-plans' },
    ]);
    expect(SCHEMA_VERSION).toBe(8);
  });

  it('migrates once when several processes start together', async () => {
    const schema = schemas.next();
    // Separate pools, as separate processes would have; all race to migrate an empty schema.
    const stores = await Promise.all(Array.from({ length: 4 }, () => schemas.open({ maxConnections: 2 }, schema)));
    const { rows } = await schemas.admin.query(`SELECT count(*)::int AS n FROM "${schema}".schema_migrations`);
    expect(rows[0]?.n).toBe(SCHEMA_VERSION);
    expect(await stores[0]!.migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    await Promise.all(stores.map((store) => store.close()));
  });

  it('upgrades a schema of the previous version in place, keeping its rows', async () => {
    const { store, eventKey } = await schemas.openAtPreviousVersion();
    expect(await store.migrate()).toEqual({ from: SCHEMA_VERSION - 1, to: SCHEMA_VERSION });
    expect((await store.events.get(eventKey))?.event).toMatchObject({ id: 'e-1', type: 'idrelay.account.locked' });
    expect((await store.digests.add({ key: 'admins', windowEndsAt: 1, item: { n: 1 } })).opened).toBe(true);
    await store.close();
  });

  it('refuses a schema written by a newer release, with or without migrating', async () => {
    for (const migrate of [true, false]) {
      const error = await schemas.openNewer({ migrate }).catch((caught: unknown) => caught);
      expect(isIdrelayError(error, 'ERR_STORE_MIGRATION')).toBe(true);
      expect((error as { details?: unknown }).details).toEqual({
        found: SCHEMA_VERSION + 1,
        supported: SCHEMA_VERSION,
      });
    }
  });

  it('rolls a failed migration back whole and reports ERR_STORE_MIGRATION with the step and cause', async () => {
    const schema = schemas.next();
    const context = createContext({ pool: schemas.admin, ownsPool: false, schema, name: schema, now: () => 0 });
    const broken = [
      ...MIGRATIONS,
      {
        version: SCHEMA_VERSION + 1,
        name: 'broken',
        sql: (s: string) => `CREATE TABLE ${s}.half (id int); SELECT no_such_function()`,
      },
    ];
    const error = await migrate(context, broken).catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_STORE_MIGRATION')).toBe(true);
    expect((error as { details?: unknown }).details).toEqual({ version: SCHEMA_VERSION + 1 });
    expect((error as Error).cause).toMatchObject({ code: '42883' });
    // One transaction: not even versions 1 to 4, nor the schema itself, were left behind.
    const { rows } = await schemas.admin.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [
      schema,
    ]);
    expect(rows[0]?.n).toBe(0);
    expect(await migrate(context)).toEqual({ from: 0, to: SCHEMA_VERSION });
  });

  it('wraps a failed statement as ERR_STORE_QUERY carrying the SQLSTATE', async () => {
    const store = await schemas.open();
    const token = {
      tokenHash: 'ab'.repeat(32),
      notificationId: 'n-1',
      userId: 'u-1',
      deviceId: 'd-1',
      actions: ['approve'],
      expiresAt: 2,
      createdAt: 1,
    };
    await store.actionTokens.put(token);
    const error = await store.actionTokens.put(token).catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    expect((error as { details?: unknown }).details).toEqual({ sqlstate: '23505' });
    await store.close();
  });

  it('reports an unreachable server as ERR_STORE_UNAVAILABLE with the driver error as cause', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const error = await createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema: schemas.next(),
    }).catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('leaves an injected pool open on close() and ends a pool it created', async () => {
    const pool = new Pool({ connectionString: postgres.url, max: 2 });
    const schema = schemas.next();
    const injected = await createPostgresStore({ pool, schema });
    await injected.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();

    const owned = await schemas.open({}, schema);
    await owned.close();
    // After close the pool is gone: a second close is harmless and calls are refused as closed, not hung.
    await owned.close();
    await expect(owned.devices.get('d')).rejects.toSatisfy((e) => isIdrelayError(e, 'ERR_STORE_CLOSED'));
  });

  it('names itself without the password, and refuses a schema name that is not a plain identifier', async () => {
    const url = new URL(postgres.url);
    url.password = 's3cret';
    const pool = new Pool({ connectionString: url.toString(), max: 1 });
    const store = await createPostgresStore({ pool, schema: schemas.next(), migrate: false });
    expect(store.name).toMatch(/^postgres:lifecycle_[0-9a-f]+@127\.0\.0\.1:5432\/\w+$/);
    expect(store.name).not.toContain('s3cret');
    await store.close();
    await pool.end();
    await expect(createPostgresStore({ schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(TypeError);
  });

  it('works in an existing schema an administrator created, and with migrate: false on a current one', async () => {
    const schema = schemas.next();
    await schemas.admin.query(`CREATE SCHEMA "${schema}"`);
    await (await schemas.open({}, schema)).close();
    const store = await schemas.open({ migrate: false }, schema);
    expect(await store.migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    await store.close();
  });
});
