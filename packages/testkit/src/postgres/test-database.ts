import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

/**
 * Where tests find PostgreSQL unless `IDRELAY_TEST_DATABASE_URL` says otherwise: the local server, trust auth.
 *
 * @example
 * ```ts
 * postgresTestUrl({}) === DEFAULT_POSTGRES_TEST_URL; // true
 * ```
 */
export const DEFAULT_POSTGRES_TEST_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The connection string tests use: `IDRELAY_TEST_DATABASE_URL`, else {@link DEFAULT_POSTGRES_TEST_URL}.
 * `DATABASE_URL` is deliberately not read, so a test run never touches the database an application is configured for.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString: postgresTestUrl() });
 * ```
 */
export function postgresTestUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return env.IDRELAY_TEST_DATABASE_URL || DEFAULT_POSTGRES_TEST_URL;
}

/**
 * What {@link requirePostgres} found.
 *
 * @example
 * ```ts
 * const { available, url } = await requirePostgres();
 * ```
 */
export interface PostgresTestDatabase {
  /** The connection string to use. */
  url: string;
  /** `false` when the server did not accept a connection (outside CI only; under CI that throws). */
  available: boolean;
  /** Why it is unavailable. */
  reason?: string;
}

/**
 * Options of {@link requirePostgres}.
 *
 * @example
 * ```ts
 * await requirePostgres({ url: 'postgres://postgres@127.0.0.1:5433/test', timeoutMs: 500 });
 * ```
 */
export interface RequirePostgresOptions {
  /** Defaults to {@link postgresTestUrl}. */
  url?: string;
  /** Defaults to `process.env`; `CI=true` (or `1`) turns an unreachable server into a failure. */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long to wait for the TCP connection (ms). Default 1000. */
  timeoutMs?: number;
}

/**
 * Checks that the test PostgreSQL server accepts connections. Locally an unreachable server skips the tests with
 * a clear message; under `CI=true` it throws, because a missing server in CI must fail the run rather than pass
 * it silently.
 *
 * @example
 * ```ts
 * const postgres = await requirePostgres();
 * describe.skipIf(!postgres.available)('on PostgreSQL', () => {
 *   it('stores', async () => {
 *     const store = await createPostgresStore({ connectionString: postgres.url, schema: randomSchemaName() });
 *   });
 * });
 * ```
 */
export async function requirePostgres(options: RequirePostgresOptions = {}): Promise<PostgresTestDatabase> {
  const env = options.env ?? process.env;
  const url = options.url ?? postgresTestUrl(env);
  const reason = await probe(url, options.timeoutMs ?? 1000);
  if (reason === undefined) return { url, available: true };
  const where = describeUrl(url);
  if (env.CI === 'true' || env.CI === '1') {
    throw new Error(`PostgreSQL at ${where} is unreachable (${reason}); CI=true, so a missing server fails the run.`);
  }
  console.warn(
    `[idrelay testkit] PostgreSQL at ${where} is unreachable (${reason}): skipping its tests. ` +
      'Start the server or set IDRELAY_TEST_DATABASE_URL; under CI=true this fails instead.',
  );
  return { url, available: false, reason };
}

/**
 * A fresh schema name (`prefix_` + 12 hex digits), so each test file works in its own schema and drops it after.
 *
 * @example
 * ```ts
 * const schema = randomSchemaName('outbox'); // e.g. "outbox_3f9a1c0b2e7d"
 * ```
 */
export function randomSchemaName(prefix = 'test'): string {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new TypeError('prefix: expected lower-case letters, digits, _');
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  let host = '127.0.0.1';
  let port = 5432;
  try {
    const parsed = new URL(url);
    host = parsed.hostname.replace(/^\[|\]$/g, '') || host;
    port = parsed.port ? Number(parsed.port) : port;
  } catch {
    return Promise.resolve(`not a URL: ${url}`);
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (reason?: string) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return url;
  }
}
