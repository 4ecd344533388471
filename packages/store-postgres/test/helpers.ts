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
    dropAll: async (): Promise<void> => {
      for (const schema of [...created]) await drop(schema);
      await admin.end();
    },
  };
}
