import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '@idrelay/testkit/contracts';
import { afterAll } from 'vitest';
import { createSqliteStore } from '../src/index.js';
import { openAtPreviousVersion, openNewer } from './helpers.js';

storeContract({
  name: 'sqlite (memory)',
  create: () => createSqliteStore({ path: ':memory:' }),
  migrations: {
    openEmpty: () => createSqliteStore({ path: ':memory:', migrate: false }),
  },
});

const dir = mkdtempSync(join(tmpdir(), 'idrelay-store-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextFile = () => join(dir, `relay-${++files}.db`);

storeContract({
  name: 'sqlite (file)',
  create: () => createSqliteStore({ path: nextFile() }),
  cleanup: async (store) => rmSync(store.name.slice('sqlite:'.length), { force: true }),
  migrations: {
    openEmpty: () => createSqliteStore({ path: nextFile(), migrate: false }),
    openAtPreviousVersion: () => openAtPreviousVersion(nextFile()),
    openNewer: () => openNewer(nextFile()),
  },
});
