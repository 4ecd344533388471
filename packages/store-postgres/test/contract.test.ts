import { requirePostgres, storeContract } from '@idrelay/testkit';
import { afterAll, describe } from 'vitest';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

describe.skipIf(!postgres.available)('PostgreSQL', () => {
  const schemas = testSchemas(postgres.url, 'contract');
  afterAll(() => schemas.dropAll());

  storeContract({
    name: 'postgres',
    // A fresh schema per test: the suite checks counts and the audit chain absolutely.
    create: () => schemas.open(),
    cleanup: (store) => schemas.dropFor(store),
    migrations: {
      openEmpty: () => schemas.open({ migrate: false }),
      openAtPreviousVersion: () => schemas.openAtPreviousVersion(),
      openNewer: () => schemas.openNewer(),
    },
  });
});
