import type { Store } from '@idrelay/core';
import { randomSchemaName } from '@idrelay/testkit';
import { Pool } from 'pg';
import { createContext } from '../src/context.js';
import { createPostgresStore, type PostgresStoreOptions } from '../src/index.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../src/migrations/migrate.js';

/**
 * Schemas of one test file: each store gets a fresh random schema under the file's prefix, and `dropAll()`
 * (in `afterAll`) removes every one of them, including those a failed test left behind.
 */
export function testSchemas(url: string, prefix: string) {
  const admin = new Pool({ connectionString: url, max: 2 });
  const created = new Set<string>();
  const schemaOf = new WeakMap<Store, string>();
  let reused: string | undefined;

  const next = (): string => {
    const schema = randomSchemaName(prefix);
    created.add(schema);
    return schema;
  };
  const drop = async (schema: string): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    created.delete(schema);
  };
  const open = async (options: PostgresStoreOptions = {}, schema = next()): Promise<Store> => {
    const store = await createPostgresStore({ connectionString: url, schema, ...options });
    schemaOf.set(store, schema);
    return store;
  };

  return {
    admin,
    next,
    open,
    drop,
    /** Drops the schema a store lives in (after it was closed). */
    dropFor: async (store: Store): Promise<void> => {
      const schema = schemaOf.get(store);
      if (schema !== undefined) await drop(schema);
    },
    /** True for stores from {@link openReused}, whose schema outlives them. */
    isReused: (store: Store): boolean => reused !== undefined && schemaOf.get(store) === reused,
    /** The schema a store from {@link open} lives in. */
    schemaOf: (store: Store): string => schemaOf.get(store)!,
    /**
     * A schema as the previous release left it — the released migrations up to N-1, which never change — holding
     * one event written with that release's SQL, opened by this library without migrating.
     */
    openAtPreviousVersion: async (): Promise<{ store: Store; eventKey: string }> => {
      const schema = next();
      const context = createContext({ pool: admin, ownsPool: false, schema, name: schema, now: () => 0 });
      await migrate(context, MIGRATIONS, SCHEMA_VERSION - 1);
      const eventKey = 'https://iam.example.com/old#e-1';
      await admin.query(
        `INSERT INTO "${schema}".events (key, source, id, type, status, received_at, body)
         VALUES ($1, $2, $3, $4, 'received', 1, $5)`,
        [
          eventKey,
          'https://iam.example.com/old',
          'e-1',
          'idrelay.account.locked',
          JSON.stringify({
            specversion: '1.0',
            id: 'e-1',
            source: 'https://iam.example.com/old',
            type: 'idrelay.account.locked',
            time: '2026-01-01T00:00:00.000Z',
            datacontenttype: 'application/json',
            data: { userId: 'u-1', reason: 'risk' },
          }),
        ],
      );
      return { store: await open({ migrate: false }, schema), eventKey };
    },
    /** Marks a migrated schema as written by a future release, then opens it with this one. */
    openNewer: async (options: PostgresStoreOptions = {}): Promise<Store> => {
      const schema = next();
      await (await open({}, schema)).close();
      await admin.query(
        `INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, 'from-the-future', 0)`,
        [SCHEMA_VERSION + 1],
      );
      return open(options, schema);
    },
    /**
     * Opens a migrated store over an empty schema that is reused from test to test: the first call creates and
     * migrates it, later calls empty every table, which is several times faster than a new schema per test.
     */
    openReused: async (): Promise<Store> => {
      if (reused === undefined) {
        reused = next();
        return open({}, reused);
      }
      const { rows } = await admin.query(
        `SELECT string_agg(format('DELETE FROM %I.%I', schemaname, tablename), '; ') AS sql FROM pg_tables
         WHERE schemaname = $1 AND tablename NOT IN ('schema_migrations', 'audit_head')`,
        [reused],
      );
      // DELETE, not TRUNCATE: the tables hold a few rows, and TRUNCATE's new files cost ~200 ms per test here.
      await admin.query(`${rows[0]?.sql}; UPDATE "${reused}".audit_head SET seq = 0, hash = repeat('0', 64)`);
      return open({}, reused);
    },
    dropAll: async (): Promise<void> => {
      for (const schema of [...created]) await drop(schema);
      await admin.end();
    },
  };
}
