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
 * running for the short statements the outbox issues thousands of times), transactions, the clock and the
 * claim-token counter.
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
  /**
   * {@link run} for `work` that only reads: no savepoint and no change count around it, and nothing to wait for. It
   * runs in the turn's group transaction (opening it when needed, as a write would), so its statements share one
   * transaction, and it sees what the writes before it left, committed or still in the open group, as every
   * statement on this connection does.
   */
  read<T>(work: () => T): Promise<T>;
  /**
   * Runs `work` over `items` in slices of `size`, each slice in its own transaction, giving the event loop a turn
   * between slices (a synchronous write of thousands of rows would hold it for tens of milliseconds). Checks the
   * store is still open before each slice; wraps driver errors. A failed slice is rolled back whole; the slices
   * before it stay committed.
   */
  runSliced<T>(items: readonly T[], size: number, work: (slice: readonly T[]) => number): Promise<number>;
  /**
   * Runs asynchronous `work` that does its writes in several short transactions with {@link turn}s between them;
   * checks the store is open first and wraps driver errors.
   */
  runAsync<T>(work: () => Promise<T>): Promise<T>;
  /** Gives the event loop a turn between two transactions; throws `ERR_STORE_CLOSED` if the store closed meanwhile. */
  turn(): Promise<void>;
  /**
   * The next fencing token: unique and increasing for the life of the file (see {@link createClaimTokens}). Call
   * it before opening the claim's transaction.
   */
  nextClaimToken(): number;
  now(): number;
  close(): void;
}

/** Lets pending I/O callbacks run before the next slice of a long write. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A caller of `run` whose write waits for its group's COMMIT. */
interface Waiter {
  value: unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Builds the {@link SqliteContext} of an open connection.
 *
 * With `groupCommit`, the writes of every `run` call made before the event loop's next turn share one transaction:
 * each runs at once inside a savepoint of the open group (a failure rolls back only its own savepoint), and each
 * caller's promise resolves only after the group's COMMIT — so nothing is reported written before it is, and
 * concurrent callers (HTTP requests, device answers) pay for one commit and its WAL pages together instead of one
 * each. A call that changed nothing resolves at once. `transaction()` outside `run` (sliced writes) commits the open
 * group first.
 */
export function createContext(
  db: DatabaseSync,
  now: () => number,
  name: string,
  options: { groupCommit?: boolean } = {},
): SqliteContext {
  const statements = new Map<string, StatementSync>();
  let closed = false;
  let depth = 0;
  const closedError = () => new IdrelayError('ERR_STORE_CLOSED', `The store ${name} was closed.`);
  let group: Waiter[] | undefined;
  // Prepared once: `exec` would parse these on every call.
  let grouping:
    | Record<'changes' | 'begin' | 'commit' | 'savepoint' | 'release' | 'rollbackTo', StatementSync>
    | undefined;
  const sql = () =>
    (grouping ??= {
      changes: db.prepare('SELECT total_changes() AS n'),
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      savepoint: db.prepare('SAVEPOINT run'),
      release: db.prepare('RELEASE run'),
      rollbackTo: db.prepare('ROLLBACK TO run'),
    });
  const totalChanges = () => (sql().changes.get() as { n: number }).n;
  /** Commits the open group and settles its callers. */
  const flush = (): void => {
    const waiters = group;
    if (waiters === undefined) return;
    group = undefined;
    try {
      sql().commit.run();
    } catch (error) {
      try {
        db.exec('ROLLBACK');
      } catch {}
      const wrapped = wrapDriverError(error, name);
      for (const waiter of waiters) waiter.reject(wrapped);
      return;
    }
    for (const waiter of waiters) waiter.resolve(waiter.value);
  };
  /** Opens the group of this turn unless it is open; it commits on the next turn. */
  const openGroup = (): void => {
    if (group !== undefined) return;
    sql().begin.run();
    group = [];
    setImmediate(flush);
  };
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
      flush();
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
      if (closed) return Promise.reject(closedError());
      if (!options.groupCommit || depth > 0) {
        try {
          return Promise.resolve(work());
        } catch (error) {
          return Promise.reject(wrapDriverError(error, name));
        }
      }
      try {
        openGroup();
      } catch (error) {
        return Promise.reject(wrapDriverError(error, name));
      }
      const waiters = group!;
      const before = totalChanges();
      let value: unknown;
      const { savepoint, release, rollbackTo } = sql();
      savepoint.run();
      depth++;
      try {
        value = work();
        release.run();
      } catch (error) {
        try {
          rollbackTo.run();
          release.run();
        } catch {}
        return Promise.reject(wrapDriverError(error, name));
      } finally {
        depth--;
      }
      // Nothing written: nothing to wait for.
      if (totalChanges() === before) return Promise.resolve(value as never);
      return new Promise((resolve, reject) => waiters.push({ value, resolve: resolve as Waiter['resolve'], reject }));
    },
    read(work) {
      if (closed) return Promise.reject(closedError());
      try {
        // Inside the turn's group when there is one (or a new one: the writes of this turn join it), so the reads
        // share one transaction instead of one implicit transaction per statement.
        if (options.groupCommit && depth === 0) openGroup();
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(wrapDriverError(error, name));
      }
    },
    runSliced(items, size, work) {
      return context.runAsync(async () => {
        let total = 0;
        for (let start = 0; start < items.length; start += size) {
          if (start > 0) await context.turn();
          const slice = items.length <= size ? items : items.slice(start, start + size);
          total += context.transaction(() => work(slice));
        }
        return total;
      });
    },
    async runAsync(work) {
      if (closed) throw closedError();
      try {
        return await work();
      } catch (error) {
        throw wrapDriverError(error, name);
      }
    },
    async turn() {
      await nextTurn();
      if (closed) throw closedError();
    },
    nextClaimToken: () => tokens.next(),
    now,
    close() {
      if (closed) return;
      flush();
      closed = true;
      statements.clear();
      db.close();
    },
  };
  const tokens = createClaimTokens(context);
  return context;
}

/** How many claim tokens one write of the high-water mark covers. */
const TOKEN_BLOCK = 1_024;

/**
 * Claim tokens come from a counter in memory — this process owns the file, so no other writer exists — whose
 * high-water mark is stored in `counters` a block at a time. A restarted process starts above every token the last
 * one handed out, without a write per claim and without reading every row for the largest token.
 */
export function createClaimTokens(context: Pick<SqliteContext, 'statement' | 'db'>): { next(): number } {
  let last: number | undefined;
  let reserved = 0;
  return {
    next() {
      if (last === undefined) {
        const row = context.statement("SELECT value FROM counters WHERE name = 'claim_token'").get() as
          | { value: number }
          | undefined;
        last = reserved = row?.value ?? 0;
      }
      if (last >= reserved) {
        // Callers take a token before their transaction opens: a claim rolled back later never un-reserves a block.
        reserved = last + TOKEN_BLOCK;
        context.statement("UPDATE counters SET value = ? WHERE name = 'claim_token'").run(reserved);
      }
      last += 1;
      return last;
    },
  };
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
