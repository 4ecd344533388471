/**
 * The store drivers engine scenarios run on: SQLite in memory always, PostgreSQL when the test server is up
 * (under CI=true a missing server fails the run, through the testkit helper), and the in-memory store.
 */
import type { Store } from '@idrelay/core';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { randomSchemaName, requirePostgres } from '@idrelay/testkit';
import pg from 'pg';

export interface Driver {
  name: string;
  available: boolean;
  /** A fresh, empty, migrated store. */
  create(): Promise<Store>;
  /** Opens the same database again (a restarted process). */
  reopen(previous: Store): Promise<Store>;
  /** Frees what `create` made (drops the schema). */
  cleanup(store: Store): Promise<void>;
}

const postgres = await requirePostgres();
const schemas = new WeakMap<Store, string>();

export const drivers: Driver[] = [
  {
    name: 'sqlite',
    available: true,
    create: () => createSqliteStore({ path: ':memory:' }),
    // An in-memory SQLite database dies with its connection, so restart tests use a file (see restart.test.ts).
    reopen: async (previous) => previous,
    cleanup: async () => {},
  },
  {
    name: 'postgres',
    available: postgres.available,
    async create() {
      const schema = randomSchemaName('engine');
      const store = await createPostgresStore({ connectionString: postgres.url, schema });
      schemas.set(store, schema);
      return store;
    },
    async reopen(previous) {
      const schema = schemas.get(previous)!;
      const store = await createPostgresStore({ connectionString: postgres.url, schema });
      schemas.set(store, schema);
      return store;
    },
    async cleanup(store) {
      const schema = schemas.get(store);
      if (!schema) return;
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  },
];
