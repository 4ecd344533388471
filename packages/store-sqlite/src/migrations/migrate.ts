import { IdrelayError } from '@idrelay/core';
import type { SqliteContext } from '../driver.js';
import { initial } from './0001-initial.js';
import { digests } from './0002-digests.js';
import { normalisedOutbox } from './0003-normalised-outbox.js';
import { directory } from './0004-directory.js';
import { tokenPurposes } from './0005-token-purposes.js';
import { plainDeviceIndex } from './0006-plain-device-index.js';

/** One schema step. Step N+1 applies on top of step N; steps are never edited once released. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every step, in order. The last one's version is the schema this library writes. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  digests,
  normalisedOutbox,
  directory,
  tokenPurposes,
  plainDeviceIndex,
];

/**
 * The schema version this library writes (`PRAGMA user_version` of a migrated file). A file with a higher version
 * was written by a newer release and is refused with `ERR_STORE_MIGRATION`.
 *
 * @example
 * ```ts
 * const store = await createSqliteStore({ migrate: false });
 * const { from } = await store.migrate();
 * if (from < SCHEMA_VERSION) console.log(`migrated .idrelay/relay.db from schema ${from} to ${SCHEMA_VERSION}`);
 * ```
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version of the open database (`PRAGMA user_version`, 0 when empty). */
export function schemaVersion(context: SqliteContext): number {
  const row = context.db.prepare('PRAGMA user_version').get() as { user_version: number } | undefined;
  return row?.user_version ?? 0;
}

/** Throws `ERR_STORE_MIGRATION` when the database was written by a newer idrelay than this one. */
export function assertNotNewer(context: SqliteContext, name: string): number {
  const version = schemaVersion(context);
  if (version > SCHEMA_VERSION) {
    throw new IdrelayError(
      'ERR_STORE_MIGRATION',
      `${name} has schema version ${version}, newer than this @idrelay/store-sqlite (${SCHEMA_VERSION}); upgrade the package.`,
      { details: { found: version, supported: SCHEMA_VERSION } },
    );
  }
  return version;
}

/**
 * Applies the missing steps up to `target`, each in its own transaction together with its `user_version` bump
 * and its `schema_migrations` row, so a crash leaves the database at a whole version.
 */
export function migrate(
  context: SqliteContext,
  name: string,
  target: number = SCHEMA_VERSION,
): { from: number; to: number } {
  const from = assertNotNewer(context, name);
  context.db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  for (const step of MIGRATIONS) {
    if (step.version <= from || step.version > target) continue;
    try {
      context.transaction(() => {
        context.db.exec(step.sql);
        context.db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(step.version, step.name, context.now());
        // PRAGMA takes no parameters; the version is one of our own integers.
        context.db.exec(`PRAGMA user_version = ${Math.trunc(step.version)}`);
      });
    } catch (error) {
      throw new IdrelayError('ERR_STORE_MIGRATION', `Migration ${step.version} (${step.name}) failed on ${name}.`, {
        cause: error,
        details: { version: step.version },
      });
    }
  }
  return { from, to: Math.max(from, Math.min(target, SCHEMA_VERSION)) };
}
