/**
 * `@idrelay/store-sqlite`: the embedded idrelay store. Every store port (events, devices, preferences, outbox, outgoing,
 * action tokens, flows, timers, digests, audit, retention, directory) on one SQLite file owned by one process, or in
 * memory.
 *
 * @packageDocumentation
 */

export { createSqliteStore, type SqliteStoreOptions } from './create-sqlite-store.js';
export { SCHEMA_VERSION } from './migrations/migrate.js';
