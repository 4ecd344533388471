import type { Store } from '@idrelay/core';
import { randomSchemaName } from '@idrelay/testkit';
import { Pool } from 'pg';
import { createContext } from '../src/context.js';
import { createPostgresStore, type PostgresStoreOptions } from '../src/index.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION } from '../src/migrations/migrate.js';

/** Writes an event as schema version 2 did: the key is `source#id`, unescaped. */
export async function insertOldEvent(
  admin: Pool,
  schema: string,
  source: string,
  id: string,
  status = 'received',
): Promise<string> {
  const key = `${source}#${id}`;
  const event = {
    specversion: '1.0',
    id,
    source,
    type: 'idrelay.account.locked',
    time: '2026-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    data: { userId: 'u-1', reason: 'risk' },
  };
  await admin.query(
    `INSERT INTO "${schema}".events (key, source, id, type, status, received_at, body)
     VALUES ($1, $2, $3, $4, $5, 1, $6)`,
    [key, source, id, event.type, status, JSON.stringify(event)],
  );
  return key;
}

/** Registers an FCM device `deviceId` of `user-old` as schema version 2 did (token `token-<deviceId>`). */
export async function insertOldDevice(admin: Pool, schema: string, deviceId: string): Promise<void> {
  await admin.query(
    `INSERT INTO "${schema}".devices (device_id, user_id, platform, address_key, address, created_at, updated_at)
     VALUES ($1, 'user-old', 'fcm', $2, $3, 1, 1)`,
    [deviceId, `token-${deviceId}`, JSON.stringify({ token: `token-${deviceId}` })],
  );
}

/** A delivery as schema version 2 wrote it: the whole message and target copied into the row. */
export async function insertOldDelivery(
  admin: Pool,
  schema: string,
  row: {
    key: string;
    eventKey: string;
    notificationId: string;
    deviceId: string;
    title: string;
    status?: string;
    readyAt?: number;
    data?: Record<string, string>;
    providerMessageId?: string;
  },
): Promise<void> {
  const target = { deviceId: row.deviceId, platform: 'fcm', token: `token-${row.deviceId}`, data: row.data };
  await admin.query(
    `INSERT INTO "${schema}".deliveries (idempotency_key, event_key, notification_id, rule_id, user_id, device_id,
       platform, status, priority, due_at, ready_at, attempts, message, target, provider_message_id, created_at,
       updated_at)
     VALUES ($1, $2, $3, 'rule-1', 'user-old', $4, 'fcm', $5, 0, 1, $6, $7, $8, $9, $10, 1, 1)`,
    [
      row.key,
      row.eventKey,
      row.notificationId,
      row.deviceId,
      row.status ?? 'pending',
      row.readyAt ?? 1,
      row.status === 'claimed' ? 1 : 0,
      JSON.stringify({ id: row.notificationId, title: row.title, urgency: 'high' }),
      JSON.stringify(target),
      row.providerMessageId ?? null,
    ],
  );
}

/**
 * Schemas of one test file: each store gets a fresh random schema under the file's prefix, and `dropAll()`
 * (in `afterAll`) removes every one of them, including those a failed test left behind.
 */
export function testSchemas(url: string, prefix: string) {
  const admin = new Pool({ connectionString: url, max: 2 });
  const created = new Set<string>();
  const schemaOf = new WeakMap<Store, string>();
  let reused: string | undefined;

  const next = (): string => {
    const schema = randomSchemaName(prefix);
    created.add(schema);
    return schema;
  };
  const drop = async (schema: string): Promise<void> => {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    created.delete(schema);
  };
  const open = async (options: PostgresStoreOptions = {}, schema = next()): Promise<Store> => {
    const store = await createPostgresStore({ connectionString: url, schema, ...options });
    schemaOf.set(store, schema);
    return store;
  };

  const contextOf = (schema: string) =>
    createContext({ pool: admin, ownsPool: false, schema, name: schema, now: () => 0 });
  /** A new schema at `version` (the released migrations up to it, which never change), empty. */
  const atVersion = async (version: number): Promise<string> => {
    const schema = next();
    await migrate(contextOf(schema), MIGRATIONS, version);
    return schema;
  };

  return {
    admin,
    next,
    atVersion,
    open,
    drop,
    /** Drops the schema a store lives in (after it was closed). */
    dropFor: async (store: Store): Promise<void> => {
      const schema = schemaOf.get(store);
      if (schema !== undefined) await drop(schema);
    },
    /** True for stores from {@link openReused}, whose schema outlives them. */
    isReused: (store: Store): boolean => reused !== undefined && schemaOf.get(store) === reused,
    /** The schema a store from {@link open} lives in. */
    schemaOf: (store: Store): string => schemaOf.get(store)!,
    /**
     * A schema as the previous release left it — the released migrations up to N-1, which never change — holding
     * one event and one pending delivery (to a registered device), opened by this library without migrating. The
     * rows are written with schema 2's SQL and carried to N-1 by the released migrations 3 … N-1.
     */
    openAtPreviousVersion: async () => {
      const schema = await atVersion(2);
      const eventKey = 'https://iam.example.com/old#e-1';
      await insertOldEvent(admin, schema, 'https://iam.example.com/old', 'e-1');
      await insertOldDevice(admin, schema, 'old-device');
      await insertOldDelivery(admin, schema, {
        key: 'e-1|r|old-device',
        eventKey,
        notificationId: 'old-notification',
        deviceId: 'old-device',
        title: 'Written before the upgrade',
        data: { actionToken: 't-1' },
      });
      await migrate(contextOf(schema), MIGRATIONS, SCHEMA_VERSION - 1);
      return {
        store: await open({ migrate: false }, schema),
        eventKey,
        pendingDelivery: { deviceId: 'old-device', title: 'Written before the upgrade' },
      };
    },
    /** Marks a migrated schema as written by a future release, then opens it with this one. */
    openNewer: async (options: PostgresStoreOptions = {}): Promise<Store> => {
      const schema = next();
      await (await open({}, schema)).close();
      await admin.query(
        `INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES ($1, 'from-the-future', 0)`,
        [SCHEMA_VERSION + 1],
      );
      return open(options, schema);
    },
    /**
     * Opens a migrated store over an empty schema that is reused from test to test: the first call creates and
     * migrates it, later calls empty every table, which is several times faster than a new schema per test.
     */
    openReused: async (): Promise<Store> => {
      if (reused === undefined) {
        reused = next();
        return open({}, reused);
      }
      const { rows } = await admin.query(
        `SELECT string_agg(format('DELETE FROM %I.%I', schemaname, tablename), '; ') AS sql FROM pg_tables
         WHERE schemaname = $1 AND tablename NOT IN ('schema_migrations', 'audit_head')`,
        [reused],
      );
      // DELETE, not TRUNCATE: the tables hold a few rows, and TRUNCATE's new files cost ~200 ms per test here.
      await admin.query(`${rows[0]?.sql}; UPDATE "${reused}".audit_head SET seq = 0, hash = repeat('0', 64)`);
      return open({}, reused);
    },
    /** Registers FCM devices `device-<n>` of `user-<n>` in `schema` with plain inserts: fast set-up for big tests. */
    seedDevices: async (schema: string, count: number): Promise<void> => {
      await admin.query(
        `INSERT INTO "${schema}".devices (device_id, user_id, platform, address, created_at, updated_at)
         SELECT 'device-' || n, 'user-' || n, 'fcm', 'token-device-' || n, 0, 0 FROM generate_series(0, $1 - 1) AS n
         ON CONFLICT DO NOTHING`,
        [count],
      );
    },
    dropAll: async (): Promise<void> => {
      for (const schema of [...created]) await drop(schema);
      await admin.end();
    },
  };
}
