import { createHash } from 'node:crypto';
import { IdrelayError, type SettleResult } from '@idrelay/core';
import type { Pool, PoolClient, QueryResult } from 'pg';

/** A row as node-postgres returns it: `bigint` columns arrive as strings, `json` columns already parsed. */
export type Row = Record<string, unknown>;

/**
 * A statement that each connection parses once and then runs by name ({@link prepared}): for the statements a
 * busy relay runs thousands of times a second, parsing and planning cost more than executing.
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * Names `text` for a server-side prepared statement. The name is a digest of the text (which holds the schema), so
 * two stores on one pool never collide and the same text always gets the same name. PostgreSQL plans the first
 * five executions with their values and may then keep a generic plan; the hot statements are written so that both
 * probe indexes (test/query-plans.test.ts). Only for a fixed text: a text built per call (a variable number of
 * placeholders) would leave a prepared statement per variant on every connection.
 */
export function prepared(text: string): PreparedStatement {
  return { name: `idrelay_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`, text };
}

/** Runs one statement; inside a transaction it runs on the transaction's connection. */
export type Query = (text: string | PreparedStatement, values?: readonly unknown[]) => Promise<QueryResult<Row>>;

/** What every port of one store shares: the pool, the schema, the clock, the closed flag. */
export interface PgContext {
  /** `postgres:<schema>@<host>`, for messages. */
  readonly name: string;
  /** The schema, validated, unquoted. */
  readonly schema: string;
  /** A table (or sequence) name qualified with the quoted schema: `"idrelay".deliveries`. */
  table(name: string): string;
  now(): number;
  /** Throws `ERR_STORE_CLOSED` after `close()`; every call that reaches the database checks it too. */
  assertOpen(): void;
  query: Query;
  /**
   * Runs `work` in one transaction on one connection; rolls back when it throws. `setup` (parameterless
   * statements such as `SET LOCAL …`) travels with `BEGIN` in the same round trip.
   */
  transaction<T>(work: (query: Query) => Promise<T>, setup?: string): Promise<T>;
  /**
   * Runs `use` with one connection checked out for all of it: its statements go out at once, with no check-out
   * each. A connection that fails is destroyed when `use` ends, not lent again.
   */
  session<T>(use: (query: Query) => Promise<T>): Promise<T>;
  /** {@link transaction} on a connection `query` already holds (a {@link session}'s). */
  transactionOn<T>(query: Query, work: (query: Query) => Promise<T>, setup?: string): Promise<T>;
  /** The most connections the pool opens (`max`). */
  readonly poolSize: number;
  /** Marks the store closed, then ends the pool when the store created it. */
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Throws a `TypeError` unless `schema` is a plain identifier, so it can be quoted into SQL safely. */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      `schema: expected 1-63 letters, digits or _ not starting with a digit, got ${JSON.stringify(schema)}`,
    );
  }
}

// SQLSTATE classes that mean "no usable connection": 08 connection exception, 28 invalid authorization,
// 3D000 unknown database, 53300 too many connections, 57P01-57P03 server shutting down or starting up.
const UNAVAILABLE_STATE = /^(08|28|3D000|53300|57P0[1-3])/;
// No SQLSTATE class starts with E, while Node's errno codes do (EPIPE is five letters too).
const SQLSTATE = /^(?!E)[0-9A-Z]{5}$/;
const CONNECTION_MESSAGE = /connect|terminated|timeout|socket|ECONN|pool after calling end/i;

/** True when `error` means the database could not be reached, rather than a statement failing. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && SQLSTATE.test(code)) return UNAVAILABLE_STATE.test(code);
  // Node socket errors (ECONNREFUSED, ENOTFOUND, ETIMEDOUT …) and node-postgres's own connection messages.
  return typeof code === 'string' || CONNECTION_MESSAGE.test(error.message);
}

/** Wraps a driver error at the package boundary: unreachable → `ERR_STORE_UNAVAILABLE`, else `ERR_STORE_QUERY`. */
export function wrapError(error: unknown, name: string): unknown {
  if (error instanceof IdrelayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (isUnavailable(error)) {
    return new IdrelayError('ERR_STORE_UNAVAILABLE', `PostgreSQL for ${name} could not be reached: ${message}`, {
      cause: error,
    });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return new IdrelayError('ERR_STORE_QUERY', `PostgreSQL failed in ${name}: ${message}`, {
    cause: error,
    details: typeof code === 'string' ? { sqlstate: code } : {},
  });
}

const isUnavailableError = (error: unknown): error is IdrelayError =>
  error instanceof IdrelayError && error.code === 'ERR_STORE_UNAVAILABLE';

/**
 * Swallows `error` events a pool emits for an idle connection the server dropped (restart, failover,
 * `pg_terminate_backend`): unhandled, Node would crash the process on them. The pool has already discarded that
 * connection, and the next call reports any real outage as `ERR_STORE_UNAVAILABLE`.
 */
const ignorePoolError = (): void => {};

/** Builds the shared context over `pool`; `ownsPool` decides whether `close()` ends it. */
export function createContext(options: {
  pool: Pool;
  ownsPool: boolean;
  schema: string;
  name: string;
  now: () => number;
}): PgContext {
  const { pool, ownsPool, schema, name, now } = options;
  const quoted = `"${schema}"`;
  let closed = false;
  // Added to a pool the caller passed too, beside (never instead of) their own listeners; removed on close().
  pool.on('error', ignorePoolError);

  const checkOpen = (): void => {
    if (closed) throw new IdrelayError('ERR_STORE_CLOSED', `The store ${name} was closed.`);
  };

  /**
   * Checks a connection out for `use`. While checked out, a connection has no `error` listener of the pool's:
   * a connection the server drops then (mid-transaction, or mid-query) would emit an unhandled `error` and take
   * the process down. This one listens for it, and a connection that failed that way — or answered with a
   * connection-class error — goes back to the pool as broken, which destroys it instead of lending it again.
   */
  const withClient = async <T>(use: (query: Query) => Promise<T>): Promise<T> => {
    checkOpen();
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw wrapError(error, name);
    }
    let lost: Error | undefined;
    const onError = (error: Error): void => {
      lost ??= error;
    };
    client.on('error', onError);
    const onClient: Query = async (text, values) => {
      if (lost !== undefined) throw wrapError(lost, name);
      try {
        return typeof text === 'string'
          ? await client.query<Row>(text, values as unknown[] | undefined)
          : await client.query<Row>({ name: text.name, text: text.text, values: values as unknown[] | undefined });
      } catch (error) {
        const wrapped = wrapError(lost ?? error, name);
        if (isUnavailableError(wrapped)) lost ??= error as Error;
        throw wrapped;
      }
    };
    try {
      return await use(onClient);
    } finally {
      if (lost === undefined) {
        client.removeListener('error', onError);
        client.release();
      } else {
        // Our listener stays: the dying socket may still report its end, and the client is never lent again.
        client.release(lost);
      }
    }
  };

  const transactionOn = async <T>(onClient: Query, work: (query: Query) => Promise<T>, setup?: string): Promise<T> => {
    await onClient(setup === undefined ? 'BEGIN' : `BEGIN; ${setup}`);
    try {
      const result = await work(onClient);
      await onClient('COMMIT');
      return result;
    } catch (error) {
      // A connection that is gone rolled the transaction back with it; any other failure is rolled back here.
      if (!isUnavailableError(error)) await onClient('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };
  const transaction = <T>(work: (query: Query) => Promise<T>, setup?: string): Promise<T> =>
    withClient((onClient) => transactionOn(onClient, work, setup));

  return {
    name,
    schema,
    table: (table) => `${quoted}.${table}`,
    now,
    assertOpen: checkOpen,
    query: (text, values) => withClient((onClient) => onClient(text, values)),
    transaction,
    session: withClient,
    transactionOn,
    poolSize: (pool as Pool & { options?: { max?: number } }).options?.max ?? 10,
    close: async () => {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
      else pool.removeListener('error', ignorePoolError);
    },
  };
}

/** A `bigint`/`integer` column as a number (`undefined` for NULL). Millisecond times fit in 2^53. */
export function num(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** A text column (`undefined` for NULL). */
export function str(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

/** `{ code, reason }` from the two error columns of a row, or undefined when there is no error. */
export function errorOf(code: unknown, reason: unknown): { code: string; reason?: string } | undefined {
  const c = str(code);
  if (c === undefined) return undefined;
  const r = str(reason);
  return r === undefined ? { code: c } : { code: c, reason: r };
}

/** A string id this store gave out (a positive `bigint`), or undefined for anything else. */
export function rowId(id: string): string | undefined {
  return /^[0-9]{1,18}$/.test(id) ? id : undefined;
}

/**
 * Settles fenced outcomes (of deliveries or outgoing entries): `apply` gets the first outcome of each id this store
 * gave out and returns the ids it changed. Every other outcome — an id the store never gave out, a second outcome
 * for one id, one whose claim token no longer holds its row — is reported stale.
 */
export async function settleFenced<T extends { id: string }>(
  context: PgContext,
  outcomes: readonly T[],
  apply: (valid: T[]) => Promise<Set<string>>,
): Promise<SettleResult> {
  context.assertOpen();
  const stale: string[] = [];
  const first = new Map<string, T>();
  for (const outcome of outcomes) {
    const id = rowId(outcome.id);
    if (id === undefined || first.has(id)) stale.push(outcome.id);
    else first.set(id, outcome);
  }
  if (first.size === 0) return { settled: 0, stale };
  const valid = [...first.values()];
  const applied = await apply(valid);
  for (const outcome of valid) if (!applied.has(outcome.id)) stale.push(outcome.id);
  return { settled: applied.size, stale };
}
