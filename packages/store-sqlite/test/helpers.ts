import type { DatabaseSync } from 'node:sqlite';
import type { Store } from '@idrelay/core';
import { eventKey } from '@idrelay/core';
import { createContext, loadSqlite } from '../src/driver.js';
import { createSqliteStore } from '../src/index.js';
import { migrate, SCHEMA_VERSION } from '../src/migrations/migrate.js';

/** A delivery row as schema version 2 wrote it: a full message and target per row, text keys, status words. */
export interface OldDelivery {
  key: string;
  eventKey: string;
  notificationId: string;
  deviceId: string;
  userId?: string;
  status?: 'pending' | 'claimed' | 'delivered' | 'failed' | 'dead' | 'cancelled';
  dueAt?: number;
  readyAt?: number | null;
  title: string;
  data?: Record<string, string>;
  providerMessageId?: string;
}

/** Writes one delivery in the layout of schema version 2 (an FCM device, `token-<deviceId>`). */
export function insertOldDelivery(db: DatabaseSync, d: OldDelivery): void {
  const status = d.status ?? 'pending';
  const dueAt = d.dueAt ?? 1;
  const live = status === 'pending' || status === 'claimed';
  db.prepare(
    `INSERT INTO deliveries (idempotency_key, event_key, notification_id, rule_id, user_id, device_id, platform,
       status, priority, due_at, ready_at, attempts, message, target, provider_message_id, created_at, updated_at)
     VALUES (?, ?, ?, 'rule-old', ?, ?, 'fcm', ?, 0, ?, ?, ?, ?, ?, ?, 1, 2)`,
  ).run(
    d.key,
    d.eventKey,
    d.notificationId,
    d.userId ?? 'user-old',
    d.deviceId,
    status,
    dueAt,
    d.readyAt !== undefined ? d.readyAt : live ? dueAt : null,
    status === 'pending' ? 0 : 1,
    JSON.stringify({ id: d.notificationId, urgency: 'high', title: d.title }),
    JSON.stringify({
      deviceId: d.deviceId,
      platform: 'fcm',
      token: `token-${d.deviceId}`,
      ...(d.data === undefined ? {} : { data: d.data }),
    }),
    d.providerMessageId ?? null,
  );
}

/** Registers an FCM device in the layout of schema version 2. */
export function insertOldDevice(db: DatabaseSync, deviceId: string, userId = 'user-old'): void {
  db.prepare(
    `INSERT INTO devices (device_id, user_id, platform, address_key, address, created_at, updated_at)
     VALUES (?, ?, 'fcm', ?, ?, 1, 1)`,
  ).run(deviceId, userId, `token-${deviceId}`, JSON.stringify({ token: `token-${deviceId}` }));
}

/** Records an event in the layout of schema version 2, whose key was `source#id` with nothing escaped. */
export function insertOldEvent(db: DatabaseSync, source: string, id: string, status = 'received'): void {
  db.prepare(`INSERT INTO events (key, source, id, type, status, received_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
    `${source}#${id}`,
    source,
    id,
    'idrelay.account.locked',
    status,
    1,
    JSON.stringify({
      specversion: '1.0',
      id,
      source,
      type: 'idrelay.account.locked',
      time: '2026-01-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: { userId: 'u-1', reason: 'risk' },
    }),
  );
}

/**
 * Opens `file` at schema `version` (released migrations never change, so they are that release's schema) and hands
 * the raw connection to `write`.
 */
export function writeAtVersion(file: string, version: number, write: (db: DatabaseSync) => void): void {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(file);
  const context = createContext(db, () => 0, file);
  try {
    migrate(context, file, version);
    write(db);
  } finally {
    context.close();
  }
}

/** Brings `file` to schema `version` with the released migrations, as that release would have on open. */
function migrateTo(file: string, version: number): void {
  const { DatabaseSync } = loadSqlite();
  const context = createContext(new DatabaseSync(file), () => 0, file);
  try {
    migrate(context, file, version);
  } finally {
    context.close();
  }
}

/** The old source of the previous-version fixtures: its `#` is what core's new `eventKey()` escapes. */
const OLD_SOURCE = 'https://iam.example.com/old#tenant-1';

/**
 * Writes `file` as the previous release (schema N-1) left it: one event whose source holds a `#` and one pending
 * delivery to a registered device. They are written in the layout of schema 2 and carried forward by the released
 * migrations, so the file holds what an upgraded installation holds.
 */
export function writePreviousVersion(file: string): {
  eventKey: string;
  pendingDelivery: { deviceId: string; title: string };
} {
  writeAtVersion(file, 2, (db) => {
    insertOldEvent(db, OLD_SOURCE, 'e-1');
    insertOldDevice(db, 'device-old');
    insertOldDelivery(db, {
      key: 'k-old',
      eventKey: `${OLD_SOURCE}#e-1`,
      notificationId: 'n-old',
      deviceId: 'device-old',
      title: 'written by the previous release',
      data: { actionToken: 'at-old' },
    });
  });
  migrateTo(file, SCHEMA_VERSION - 1);
  return {
    eventKey: eventKey({ source: OLD_SOURCE, id: 'e-1' }),
    pendingDelivery: { deviceId: 'device-old', title: 'written by the previous release' },
  };
}

/** A database at version N-1, opened by the library without migrating. */
export async function openAtPreviousVersion(
  file: string,
): Promise<{ store: Store; eventKey: string; pendingDelivery: { deviceId: string; title: string } }> {
  const written = writePreviousVersion(file);
  return { store: await createSqliteStore({ path: file, migrate: false }), ...written };
}

/** Marks `file` as written by a future release, then opens it with this one (which must refuse). */
export async function openNewer(file: string): Promise<Store> {
  const { DatabaseSync } = loadSqlite();
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  return createSqliteStore({ path: file });
}
