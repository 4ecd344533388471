import { IdrelayError } from '@idrelay/core';
import type { PgContext, Query } from '../context.js';
import { num } from '../context.js';
import { initial } from './0001-initial.js';
import { digests } from './0002-digests.js';
import { normalisedOutbox } from './0003-normalised-outbox.js';
import { directory } from './0004-directory.js';
import { tokenPurposes } from './0005-token-purposes.js';
import { plainLookupIndexes } from './0006-plain-lookup-indexes.js';
import { answerBatchFunction } from './0007-answer-batch-function.js';
import { genericAnswerPlans } from './0008-generic-answer-plans.js';

/** One schema step. Step N+1 applies on top of step N; steps are never edited once released. */
export interface Migration {
  version: number;
  name: string;
  /** The DDL, given the quoted schema name to qualify every table with. */
  sql: (schema: string) => string;
}

/** Every step, in order. The last one's version is the schema this library writes. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  digests,
  normalisedOutbox,
  directory,
  tokenPurposes,
  plainLookupIndexes,
  answerBatchFunction,
  genericAnswerPlans,
];

/**
 * The schema version this library writes: the highest `version` it puts in `<schema>.schema_migrations`. A
 * database above it belongs to a newer release and is refused with `ERR_STORE_MIGRATION`.
 *
 * @example
 * ```ts
 * const { to } = await store.migrate();
 * console.log(to === SCHEMA_VERSION); // true
 * ```
 */
export const SCHEMA_VERSION = MIGRATIONS.length;

// The first key of the two-key advisory lock, chosen once: "idrelay migrate" does not collide with the audit or
// any other lock of ours, and the second key (the schema's hash) lets stores in other schemas migrate at once.
const MIGRATE_LOCK = 0x1d7e_1a01;

/** The schema version in the database: the highest applied step, 0 when the schema or its table is missing. */
async function readVersion(query: Query, context: PgContext): Promise<number> {
  const exists = await query('SELECT to_regclass($1) AS t', [`${context.table('schema_migrations')}`]);
  if (exists.rows[0]?.t === null) return 0;
  const result = await query(`SELECT max(version) AS v FROM ${context.table('schema_migrations')}`);
  return num(result.rows[0]?.v) ?? 0;
}

function newerError(context: PgContext, found: number, supported: number): IdrelayError {
  return new IdrelayError(
    'ERR_STORE_MIGRATION',
    `${context.name} has schema version ${found}, newer than this @idrelay/store-postgres (${supported}); upgrade the package.`,
    { details: { found, supported } },
  );
}

/** Throws `ERR_STORE_MIGRATION` when the schema was written by a newer idrelay than this one. */
export async function assertNotNewer(
  context: PgContext,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number> {
  const found = await readVersion(context.query, context);
  const supported = migrations.length;
  if (found > supported) throw newerError(context, found, supported);
  return found;
}

/**
 * Brings the schema to `target` in one transaction, under a transaction-scoped advisory lock: processes that
 * start together queue on the lock, the first migrates, the others then find nothing to do. PostgreSQL's DDL is
 * transactional, so a failed step leaves the schema at the version it had.
 */
export async function migrate(
  context: PgContext,
  migrations: readonly Migration[] = MIGRATIONS,
  target: number = migrations.length,
): Promise<{ from: number; to: number }> {
  const schema = `"${context.schema}"`;
  let failed: Migration | undefined;
  try {
    return await context.transaction(async (query) => {
      await query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATE_LOCK, context.schema]);
      const from = await readVersion(query, context);
      if (from > migrations.length) throw newerError(context, from, migrations.length);
      if (from >= target) return { from, to: from };
      const present = await query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [context.schema]);
      // Checked first so a role without CREATE on the database can use a schema an administrator made for it.
      if (present.rowCount === 0) await query(`CREATE SCHEMA ${schema}`);
      await query(
        `CREATE TABLE IF NOT EXISTS ${context.table('schema_migrations')}
           (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      for (const step of migrations) {
        if (step.version <= from || step.version > target) continue;
        failed = step;
        await query(step.sql(schema));
        await query(
          `INSERT INTO ${context.table('schema_migrations')} (version, name, applied_at) VALUES ($1, $2, $3)`,
          [step.version, step.name, context.now()],
        );
        failed = undefined;
      }
      return { from, to: target };
    });
  } catch (error) {
    if (failed === undefined || !(error instanceof IdrelayError) || error.code !== 'ERR_STORE_QUERY') throw error;
    throw new IdrelayError(
      'ERR_STORE_MIGRATION',
      `Migration ${failed.version} (${failed.name}) failed on ${context.name}.`,
      { cause: error.cause, details: { version: failed.version } },
    );
  }
}
