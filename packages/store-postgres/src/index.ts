/**
 * `@idrelay/store-postgres`: the idrelay store ports on PostgreSQL, for production and scale-out — any number of
 * processes share one outbox, claiming deliveries with `FOR UPDATE SKIP LOCKED`.
 *
 * @packageDocumentation
 */

export { createPostgresStore, type PostgresStoreOptions } from './create-postgres-store.js';
export { SCHEMA_VERSION } from './migrations/migrate.js';
