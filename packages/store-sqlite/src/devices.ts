import { type DeviceRecord, type DeviceStore, deviceAddressKey } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';

/** The platform-specific part of the address (token, topic, environment, subscription), kept as JSON. */
function addressOf(device: DeviceRecord): Record<string, unknown> {
  const { deviceId, platform, userId, publicKey, keyAlgorithm, name, createdAt, updatedAt, ...address } = device;
  return address;
}

const toDevice = (row: Row): DeviceRecord => {
  const record = {
    deviceId: text(row.device_id)!,
    platform: text(row.platform)!,
    ...(JSON.parse(text(row.address)!) as Record<string, unknown>),
    userId: text(row.user_id)!,
    createdAt: int(row.created_at)!,
    updatedAt: int(row.updated_at)!,
  } as DeviceRecord;
  const publicKey = text(row.public_key);
  const keyAlgorithm = text(row.key_algorithm);
  const name = text(row.name);
  if (publicKey !== undefined) record.publicKey = publicKey;
  if (keyAlgorithm !== undefined) record.keyAlgorithm = keyAlgorithm as NonNullable<DeviceRecord['keyAlgorithm']>;
  if (name !== undefined) record.name = name;
  return record;
};

/** {@link DeviceStore} on the `devices` table; a token or endpoint is unique per platform. */
export function createDeviceStore(context: SqliteContext): DeviceStore {
  const { statement, run, transaction } = context;
  return {
    upsert: (device) =>
      run(() =>
        transaction(() => {
          const key = deviceAddressKey(device);
          // A reinstalled app registers the same token under a new device id: the old record goes.
          const displaced = (
            statement(
              'DELETE FROM devices WHERE platform = ? AND address_key = ? AND device_id <> ? RETURNING device_id',
            ).all(device.platform, key, device.deviceId) as Row[]
          ).map((row) => text(row.device_id)!);
          statement(
            `INSERT INTO devices (device_id, user_id, platform, address_key, address, public_key, key_algorithm, name,
               created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (device_id) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform,
               address_key = excluded.address_key, address = excluded.address, public_key = excluded.public_key,
               key_algorithm = excluded.key_algorithm, name = excluded.name, created_at = excluded.created_at,
               updated_at = excluded.updated_at`,
          ).run(
            device.deviceId,
            device.userId,
            device.platform,
            key,
            JSON.stringify(addressOf(device)),
            device.publicKey ?? null,
            device.keyAlgorithm ?? null,
            device.name ?? null,
            device.createdAt,
            device.updatedAt,
          );
          return { displaced };
        }),
      ),
    get: (deviceId) =>
      run(() => {
        const row = statement('SELECT * FROM devices WHERE device_id = ?').get(deviceId) as Row | undefined;
        return row === undefined ? undefined : toDevice(row);
      }),
    listByUser: (userId) =>
      run(() =>
        (statement('SELECT * FROM devices WHERE user_id = ? ORDER BY created_at, device_id').all(userId) as Row[]).map(
          toDevice,
        ),
      ),
    listByUsers: (userIds) =>
      run(() => {
        if (userIds.length === 0) return [];
        // One JSON array parameter instead of N placeholders: no statement per page size, no variable limit.
        return (
          statement(
            `SELECT * FROM devices WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY user_id, created_at, device_id`,
          ).all(JSON.stringify(userIds)) as Row[]
        ).map(toDevice);
      }),
    remove: (deviceId) =>
      run(() => Number(statement('DELETE FROM devices WHERE device_id = ?').run(deviceId).changes) > 0),
    countByUser: (userId) =>
      run(() => {
        const row = statement('SELECT count(*) AS n FROM devices WHERE user_id = ?').get(userId) as Row;
        return int(row.n) ?? 0;
      }),
  };
}
