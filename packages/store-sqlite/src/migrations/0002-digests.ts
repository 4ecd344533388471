import type { Migration } from './migrate.js';

/** Digest windows (one open window per key) and the items collected in them, in arrival order. */
export const digests: Migration = {
  version: 2,
  name: 'digests',
  sql: `
    CREATE TABLE digests (
      key TEXT PRIMARY KEY,
      window_ends_at INTEGER NOT NULL,
      count INTEGER NOT NULL,
      opened_at INTEGER NOT NULL
    );
    CREATE TABLE digest_items (
      key TEXT NOT NULL,
      seq INTEGER NOT NULL,
      item TEXT NOT NULL,
      PRIMARY KEY (key, seq)
    ) WITHOUT ROWID;
  `,
};
