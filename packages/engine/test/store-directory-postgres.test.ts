import type { Store } from '@idrelay/core';
import { createPostgresStore } from '@idrelay/store-postgres';
import { randomSchemaName, requirePostgres, seedStoreDirectory } from '@idrelay/testkit';
import { directoryContract } from '@idrelay/testkit/contracts';
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { createStoreDirectory } from '../src/index.js';

// Here rather than in store-postgres: the engine already depends on the store (devDependency), not the reverse.
const postgres = await requirePostgres();

describe.skipIf(!postgres.available)('store directory on PostgreSQL', () => {
  const opened: { store: Store; schema: string }[] = [];
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    for (const { store, schema } of opened.splice(0)) {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    await admin.end();
  });

  for (const pageSize of [2, 500]) {
    directoryContract({
      // Pages of 2 make every audience kind cross pages of the store; 500 is the default.
      name: `store directory (postgres, pages of ${pageSize})`,
      create: async (fixture) => {
        const schema = randomSchemaName('engdir');
        const store = await createPostgresStore({ connectionString: postgres.url, schema });
        opened.push({ store, schema });
        return seedStoreDirectory(createStoreDirectory(store, { pageSize }), fixture);
      },
    });
  }
});
