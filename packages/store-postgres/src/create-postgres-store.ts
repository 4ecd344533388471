import type { Clock, Store } from '@idrelay/core';
import { systemClock } from '@idrelay/core';
import { Pool } from 'pg';
import { createActionTokenStore } from './action-tokens.js';
import { createAuditStore } from './audit.js';
import { assertSchemaName, createContext } from './context.js';
import { createDeviceStore } from './devices.js';
import { createDigestStore } from './digests.js';
import { createDirectoryStore } from './directory/directory.js';
import { createEventStore } from './events.js';
import { createFlowStore } from './flows.js';
import { assertNotNewer, migrate } from './migrations/migrate.js';
import { createOutboxStore } from './outbox/outbox.js';
import { createOutgoingStore } from './outgoing.js';
import { createPreferenceStore } from './preferences.js';
import { createResponsePorts } from './responses.js';
import { createRetentionStore } from './retention.js';
import { createTimerStore } from './timers.js';

/**
 * Options of {@link createPostgresStore}. All optional: with none, the store connects to `DATABASE_URL` and
 * keeps its tables in the schema `idrelay`.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { connectionString: 'postgres://relay@db:5432/relay', schema: 'tenant_a' };
 * ```
 */
export interface PostgresStoreOptions {
  /**
   * A libpq-style URL, e.g. `postgres://idrelay@db.internal:5432/relay`. Default `process.env.DATABASE_URL`;
   * when that is unset too, node-postgres falls back to the `PG*` environment variables. Ignored with `pool`.
   */
  connectionString?: string;
  /**
   * A pool you manage (its size, TLS, statement timeout). `close()` leaves it open; you end it. Without it the
   * store creates one from `connectionString` and ends it on `close()`.
   */
  pool?: Pool;
  /**
   * Connections in the pool the store creates. Default 10 (node-postgres's default). Connecting gives up after
   * 10 s with `ERR_STORE_UNAVAILABLE`; pass your own `pool` for other timeouts.
   */
  maxConnections?: number;
  /**
   * The schema holding idrelay's tables, created when missing. Default `idrelay`. Letters, digits and `_`;
   * a separate schema per tenant or per test keeps them apart in one database.
   */
  schema?: string;
  /** Time for the rows the store stamps itself (`createdAt` of deliveries, migration records). Default: system. */
  clock?: Clock;
  /**
   * Bring the schema to the current version on open. Default `true`. With `false` the store only checks that
   * the schema is not newer than this library; run `store.migrate()` (e.g. from a deploy step) yourself.
   */
  migrate?: boolean;
}

/**
 * Opens the idrelay store on PostgreSQL (node-postgres): every port the engine needs, shared by any number of
 * processes. Workers claim outbox rows with `FOR UPDATE SKIP LOCKED`, so two never take the same delivery; a
 * crashed worker's claims return once their lease ends.
 *
 * Migrations run under a transaction-scoped advisory lock, so processes starting together migrate once.
 *
 * @throws `ERR_STORE_UNAVAILABLE` when the server cannot be reached (the driver error is the `cause`);
 * `ERR_STORE_MIGRATION` when the schema is newer than this library or a migration fails; `TypeError` for a
 * schema name that is not a plain identifier.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from '@idrelay/store-postgres';
 *
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * await store.outbox.enqueue(deliveries);
 * const batch = await store.outbox.claim({ limit: 500, now: Date.now(), leaseMs: 30_000 });
 * await store.close();
 * ```
 * @see https://www.postgresql.org/docs/15/sql-select.html#SQL-FOR-UPDATE-SHARE
 */
export async function createPostgresStore(options: PostgresStoreOptions = {}): Promise<Store> {
  const schema = options.schema ?? 'idrelay';
  assertSchemaName(schema);
  const clock = options.clock ?? systemClock;
  const connectionString = options.connectionString ?? process.env.DATABASE_URL;
  const ownsPool = options.pool === undefined;
  const pool =
    options.pool ??
    new Pool({
      ...(connectionString === undefined ? {} : { connectionString }),
      max: options.maxConnections ?? 10,
      // node-postgres waits forever by default; an unroutable host should become ERR_STORE_UNAVAILABLE instead.
      connectionTimeoutMillis: 10_000,
    });
  const context = createContext({ pool, ownsPool, schema, name: storeName(schema, pool), now: () => clock.now() });
  try {
    if (options.migrate === false) await assertNotNewer(context);
    else await migrate(context);
  } catch (error) {
    await context.close().catch(() => undefined);
    throw error;
  }

  const devices = createDeviceStore(context);
  const tokens = createActionTokenStore(context);
  const flows = createFlowStore(context);
  const timers = createTimerStore(context);
  const audit = createAuditStore(context);
  return {
    name: context.name,
    events: createEventStore(context, audit),
    devices,
    preferences: createPreferenceStore(context),
    outbox: createOutboxStore(context),
    outgoing: createOutgoingStore(context),
    actionTokens: {
      ...tokens,
      ...createResponsePorts(context, { actionTokens: tokens, audit }),
    },
    flows,
    timers,
    digests: createDigestStore(context),
    audit,
    directory: createDirectoryStore(context),
    retention: createRetentionStore(context),
    migrate: () => migrate(context),
    close: () => context.close(),
  };
}

/** `postgres:<schema>@<host>[:port]/<database>`, never with the password. */
function storeName(schema: string, pool: Pool): string {
  const { host, port, database } = pool.options as { host?: string; port?: number; database?: string };
  let where = host ?? '';
  let db = database ?? '';
  const url = (pool.options as { connectionString?: string }).connectionString;
  if (url !== undefined) {
    try {
      const parsed = new URL(url);
      where = parsed.host;
      db = parsed.pathname.replace(/^\//, '');
    } catch {
      // A connection string node-postgres accepts but URL does not (a socket path): name it by schema only.
    }
  } else if (port !== undefined && where !== '') {
    where = `${where}:${port}`;
  }
  return `postgres:${schema}@${where || 'localhost'}${db ? `/${db}` : ''}`;
}
