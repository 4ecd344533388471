import type { Migration } from './migrate.js';

/** Digest windows (one open window per key) and the items collected in them, in arrival order. */
export const digests: Migration = {
  version: 2,
  name: 'digests',
  sql: (s) => `
    CREATE TABLE ${s}.digests (
      key text PRIMARY KEY,
      window_ends_at bigint NOT NULL,
      count integer NOT NULL,
      opened_at bigint NOT NULL
    );
    CREATE TABLE ${s}.digest_items (
      key text NOT NULL,
      seq integer NOT NULL,
      item json NOT NULL,
      PRIMARY KEY (key, seq)
    );
  `,
};
