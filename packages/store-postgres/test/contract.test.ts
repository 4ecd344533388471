import { requirePostgres } from '@idrelay/testkit';
import { storeContract } from '@idrelay/testkit/contracts';
import { afterAll, describe } from 'vitest';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

describe.skipIf(!postgres.available)('PostgreSQL', () => {
  const schemas = testSchemas(postgres.url, 'contract');
  afterAll(() => schemas.dropAll());

  storeContract({
    name: 'postgres',
    // An empty schema per test (emptied between tests): the suite checks counts and the audit chain absolutely.
    // Stores from the migration hooks get schemas of their own, dropped after each.
    create: () => schemas.openReused(),
    cleanup: async (store) => {
      if (!schemas.isReused(store)) await schemas.dropFor(store);
    },
    migrations: {
      openEmpty: () => schemas.open({ migrate: false }),
      openAtPreviousVersion: () => schemas.openAtPreviousVersion(),
      openNewer: () => schemas.openNewer(),
    },
  });
});
