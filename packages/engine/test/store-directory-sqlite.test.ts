import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@idrelay/core';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { seedStoreDirectory } from '@idrelay/testkit';
import { directoryContract } from '@idrelay/testkit/contracts';
import { afterAll } from 'vitest';
import { createStoreDirectory } from '../src/index.js';

// Here rather than in store-sqlite: the engine already depends on the store (devDependency), not the reverse.
const dir = mkdtempSync(join(tmpdir(), 'idrelay-store-directory-'));
const stores: Store[] = [];
afterAll(async () => {
  for (const store of stores.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const [name, path] of [
  ['memory', ':memory:'],
  ['file', join(dir, 'directory.db')],
] as const) {
  directoryContract({
    // A small page size, so every audience kind crosses pages of the store.
    name: `store directory (sqlite ${name}, pages of 2)`,
    create: async (fixture) => {
      const store = await createSqliteStore({ path });
      stores.push(store);
      return seedStoreDirectory(createStoreDirectory(store, { pageSize: 2 }), fixture);
    },
  });
}
