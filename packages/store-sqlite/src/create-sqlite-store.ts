import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Clock, Store } from '@idrelay/core';
import { IdrelayError, systemClock } from '@idrelay/core';
import { createActionTokenStore } from './action-tokens.js';
import { createAuditStore } from './audit.js';
import { createDeviceStore } from './devices.js';
import { createDigestStore } from './digests.js';
import { createDirectoryStore } from './directory/directory.js';
import { createContext, isBusyError, loadSqlite, type SqliteContext, wrapDriverError } from './driver.js';
import { createEventStore } from './events.js';
import { createFlowStore } from './flows.js';
import { assertNotNewer, migrate } from './migrations/migrate.js';
import { createOutboxStore } from './outbox/outbox.js';
import { createOutgoingStore } from './outgoing.js';
import { createPreferenceStore } from './preferences.js';
import { createRetentionStore } from './retention.js';
import { createTimerStore } from './timers.js';

/**
 * Options of {@link createSqliteStore}.
 *
 * @example
 * ```ts
 * const options: SqliteStoreOptions = { path: '/var/lib/idrelay/relay.db', synchronous: 'full' };
 * const store = await createSqliteStore(options);
 * ```
 */
export interface SqliteStoreOptions {
  /**
   * The database file, created with its directory when missing, or `':memory:'` for a store that lives as long
   * as the process. Default `.idrelay/relay.db` (relative to the working directory).
   */
  path?: string;
  /** Time for the rows the store stamps itself (`createdAt` of deliveries, migration records). Default: system. */
  clock?: Clock;
  /** Bring the schema to the current version on open. Default `true`; with `false`, call `store.migrate()`. */
  migrate?: boolean;
  /**
   * `'normal'` (default) commits without waiting for the disk: a killed process loses nothing, a power cut may
   * lose the last transactions but never corrupts the file (SQLite's advice for WAL). `'full'` syncs every
   * commit: nothing acknowledged is lost even on power loss, at a cost of one fsync per transaction.
   */
  synchronous?: 'normal' | 'full';
  /**
   * WAL pages written before SQLite checkpoints them into the database file, on the committing call. A checkpoint
   * blocks the event loop for as long as it copies, so fewer pages mean shorter, more frequent stalls: at 128
   * (~512 KB) a commit during a 200,000-delivery fan-out stalls at most ~5 ms instead of 15–25 ms at SQLite's
   * default of 1,000, for a few per cent of throughput. Default 128.
   */
  checkpointPages?: number;
  /**
   * Group commit: the writes of all calls made before the event loop's next turn share one transaction (each in its
   * own savepoint, so one failing call rolls back only itself), and every caller is answered after that transaction
   * commits. Concurrent writers (HTTP requests, device answers, ingests) then share one commit and its WAL pages.
   * Default `true`; `false` commits every call on its own.
   */
  groupCommit?: boolean;
  /**
   * How long opening waits for the current owner to let go before failing with `ERR_STORE_LOCKED` (ms): useful
   * when a restarted service may start before the old process has exited. The wait blocks the event loop.
   * Default 0: fail at once.
   */
  lockTimeoutMs?: number;
}

/**
 * Opens the embedded idrelay store on SQLite (Node's built-in `node:sqlite`): every port the engine needs, on one
 * file that one process owns, or in memory.
 *
 * The file is opened in WAL mode with `locking_mode = EXCLUSIVE`: this process holds the file until `close()`
 * (or until it exits, even when killed — the OS drops the lock), and a second process gets `ERR_STORE_LOCKED`
 * instead of a chance to corrupt anything. Several processes need `@idrelay/store-postgres`.
 *
 * @throws `ERR_STORE_LOCKED` when another process owns the file; `ERR_STORE_MIGRATION` when the file has a newer
 * schema than this library, or a migration fails; `ERR_STORE_QUERY` when SQLite cannot open the file.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from '@idrelay/store-sqlite';
 *
 * const store = await createSqliteStore({ path: '.idrelay/relay.db' });
 * await store.outbox.enqueue(deliveries);
 * const batch = await store.outbox.claim({ limit: 100, now: Date.now(), leaseMs: 30_000 });
 * await store.close();
 * ```
 * @see https://www.sqlite.org/wal.html
 * @see https://www.sqlite.org/pragma.html#pragma_locking_mode
 */
export async function createSqliteStore(options: SqliteStoreOptions = {}): Promise<Store> {
  const path = options.path ?? '.idrelay/relay.db';
  const memory = path === ':memory:';
  const file = memory ? path : resolve(path);
  const name = `sqlite:${memory ? ':memory:' : path}`;
  const clock = options.clock ?? systemClock;
  const { DatabaseSync } = loadSqlite();

  let db: InstanceType<typeof DatabaseSync>;
  try {
    if (!memory) {
      // Device tokens, key material and the audit trail live here: owner-only from the first byte. An empty file is
      // a valid empty database, and SQLite gives its WAL file the same mode. Existing files keep their mode.
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
    }
    db = new DatabaseSync(file);
  } catch (error) {
    throw wrapDriverError(error, name);
  }
  const context = createContext(db, () => clock.now(), name, { groupCommit: options.groupCommit ?? true });
  try {
    if (!memory) takeOwnership(db, name, Math.max(0, Math.trunc(options.lockTimeoutMs ?? 0)));
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // The directory's memberships, subjects and attribute rows leave with their user or group (ON DELETE CASCADE).
    // node:sqlite turns this on by default today; said here so the cascade never rests on a driver default.
    db.exec('PRAGMA foreign_keys = ON');
    // Group commit runs every call in a savepoint, and SQLite keeps the pages a savepoint may have to restore in a
    // statement journal that spills to a temporary file past 64 KiB: an open, writes and a delete per busy group.
    // In memory instead — it holds a few pages per call, released with the savepoint. Measured: 32 device answers
    // in flight went from about 5,300-6,000 to 6,800-7,500 a second. Temporary tables and sorts (none large in
    // idrelay's bounded queries) stay in memory too.
    db.exec('PRAGMA temp_store = MEMORY');
    const pages = options.checkpointPages ?? 128;
    if (!Number.isSafeInteger(pages) || pages < 1) throw new TypeError('checkpointPages: expected a positive integer');
    db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
    if (options.migrate === false) assertNotNewer(context, name);
    else migrate(context, name);
  } catch (error) {
    context.close();
    throw wrapDriverError(error, name);
  }

  return storeOn(context, name);
}

/**
 * @internal The ports on an open, migrated connection. Split from {@link createSqliteStore} so tests can reach the
 * connection underneath (to fill the disk, say) while using the store as users do.
 */
export function storeOn(context: SqliteContext, name: string): Store {
  return {
    name,
    events: createEventStore(context),
    devices: createDeviceStore(context),
    directory: createDirectoryStore(context),
    preferences: createPreferenceStore(context),
    outbox: createOutboxStore(context),
    outgoing: createOutgoingStore(context),
    actionTokens: createActionTokenStore(context),
    flows: createFlowStore(context),
    timers: createTimerStore(context),
    digests: createDigestStore(context),
    audit: createAuditStore(context),
    retention: createRetentionStore(context),
    migrate: () => context.run(() => migrate(context, name)),
    close: async () => context.close(),
  };
}

/**
 * Takes the file for this process: exclusive locking mode, WAL, then an exclusive transaction to acquire the
 * lock now rather than on first write. A held file fails with SQLITE_BUSY once `busy_timeout` has passed, which
 * becomes `ERR_STORE_LOCKED`. The lock is then held until close, so no later statement ever waits for another
 * connection and the timeout only matters here.
 */
function takeOwnership(
  db: InstanceType<typeof import('node:sqlite').DatabaseSync>,
  name: string,
  lockTimeoutMs: number,
): void {
  try {
    db.exec(`PRAGMA busy_timeout = ${lockTimeoutMs}`);
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (error) {
    if (!isBusyError(error)) throw error;
    throw new IdrelayError(
      'ERR_STORE_LOCKED',
      `${name} is owned by another process (or another open store in this one). One process owns a SQLite store; use @idrelay/store-postgres for several processes.`,
      { cause: error, details: { path: name.slice('sqlite:'.length) } },
    );
  }
}
