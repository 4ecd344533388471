import { createRequire } from 'node:module';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { IdrelayError, isIdrelayError } from '@idrelay/core';

type SqliteModule = typeof import('node:sqlite');

/**
 * Loads `node:sqlite` without printing Node's one-off `ExperimentalWarning: SQLite is an experimental feature`.
 * Only that warning is dropped: `process.emitWarning` is wrapped for the duration of the synchronous `require`
 * (the warning fires while the module loads, once per process) and restored before returning, so every other
 * warning — including ones raised concurrently by other code — still reaches the user.
 */
export function loadSqlite(): SqliteModule {
  const require = createRequire(import.meta.url);
  const emitWarning = process.emitWarning;
  const filtered = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const message = typeof warning === 'string' ? warning : warning.message;
    const first = rest[0];
    const type =
      typeof first === 'string'
        ? first
        : typeof first === 'object' && first !== null
          ? (first as { type?: string }).type
          : typeof warning === 'string'
            ? undefined
            : warning.name;
    if (type === 'ExperimentalWarning' && message.startsWith('SQLite is an experimental feature')) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return require('node:sqlite') as SqliteModule;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** A positional parameter node:sqlite binds. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** A row as node:sqlite returns it. */
export type Row = Record<string, SqlValue>;

/**
 * What every port module shares: the one connection, a cache of prepared statements (preparing costs more than
 * running for the short statements the outbox issues thousands of times), transactions, and the clock.
 */
export interface SqliteContext {
  readonly db: DatabaseSync;
  /** The prepared statement for `sql`, prepared once per connection. */
  statement(sql: string): StatementSync;
  /**
   * Runs `work` in one `BEGIN IMMEDIATE … COMMIT`, rolling back if it throws. `work` is synchronous on purpose:
   * node:sqlite never yields, so nothing else can interleave with a transaction and no claim can see half of one.
   */
  transaction<T>(work: () => T): T;
  /** Runs `work` after checking the store is open, wrapping driver errors at the package boundary. */
  run<T>(work: () => T): Promise<T>;
  now(): number;
  close(): void;
}

/** Builds the {@link SqliteContext} of an open connection. */
export function createContext(db: DatabaseSync, now: () => number, name: string): SqliteContext {
  const statements = new Map<string, StatementSync>();
  let closed = false;
  let depth = 0;
  const context: SqliteContext = {
    db,
    statement(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
    transaction(work) {
      // Ports compose (flows + audit in one call); an inner transaction joins the outer one.
      if (depth > 0) return work();
      db.exec('BEGIN IMMEDIATE');
      depth++;
      try {
        const result = work();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR); a failed ROLLBACK must not hide `error`.
        try {
          db.exec('ROLLBACK');
        } catch {}
        throw error;
      } finally {
        depth--;
      }
    },
    run(work) {
      if (closed) return Promise.reject(new IdrelayError('ERR_STORE_CLOSED', `The store ${name} was closed.`));
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(wrapDriverError(error, name));
      }
    },
    now,
    close() {
      if (closed) return;
      closed = true;
      statements.clear();
      db.close();
    },
  };
  return context;
}

/** SQLITE_BUSY and SQLITE_LOCKED: another connection holds the file. */
const BUSY_CODES = new Set([5, 6]);

/** True when `error` is node:sqlite reporting that another connection holds a lock on the file. */
export function isBusyError(error: unknown): boolean {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && BUSY_CODES.has(errcode & 0xff);
}

/** Wraps a driver error in an {@link IdrelayError}, keeping it as `cause`; our own errors pass through. */
export function wrapDriverError(error: unknown, name: string): unknown {
  if (isIdrelayError(error)) return error;
  if (isBusyError(error)) {
    return new IdrelayError(
      'ERR_STORE_LOCKED',
      `The SQLite file of ${name} is locked by another process; use @idrelay/store-postgres for several processes.`,
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new IdrelayError('ERR_STORE_QUERY', `SQLite failed in ${name}: ${message}`, { cause: error });
}

/** JSON text for a column, or null. */
export function toJson(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** Parses a JSON column; null stays undefined. */
export function fromJson<T>(value: SqlValue | undefined): T | undefined {
  return typeof value === 'string' ? (JSON.parse(value) as T) : undefined;
}

/** A text column, or undefined when null. */
export function text(value: SqlValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** An integer column as a number, or undefined when null. */
export function int(value: SqlValue | undefined): number | undefined {
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;
}
