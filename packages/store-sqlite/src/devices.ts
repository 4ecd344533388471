import { type DeviceAddress, type DeviceRecord, type DeviceStore, deviceAddressKey } from '@idrelay/core';
import type { Row, SqliteContext, SqlValue } from './driver.js';
import { int, text } from './driver.js';

/** The columns a device's address is kept in: token or endpoint, APNs topic and environment, Web Push keys. */
export const ADDRESS_COLUMNS = 'device_id, platform, address, topic, environment, p256dh, auth';

/** A device's address from its columns (`ADDRESS_COLUMNS`), without parsing anything. */
export function addressOf(row: Row): DeviceAddress {
  const deviceId = text(row.device_id)!;
  const address = text(row.address)!;
  switch (text(row.platform)) {
    case 'webpush':
      return {
        deviceId,
        platform: 'webpush',
        subscription: { endpoint: address, keys: { p256dh: text(row.p256dh) ?? '', auth: text(row.auth) ?? '' } },
      };
    case 'apns': {
      const apns: DeviceAddress = { deviceId, platform: 'apns', token: address };
      const topic = text(row.topic);
      const environment = text(row.environment);
      if (topic !== undefined) apns.topic = topic;
      if (environment !== undefined) apns.environment = environment as 'production' | 'sandbox';
      return apns;
    }
    default:
      return { deviceId, platform: 'fcm', token: address };
  }
}

export const toDevice = (row: Row): DeviceRecord => {
  const record = {
    ...addressOf(row),
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

/** The address columns of a device, in `ADDRESS_COLUMNS` order after `device_id` and `platform`. */
function addressValues(device: DeviceRecord): SqlValue[] {
  if (device.platform === 'webpush') {
    const { endpoint, keys } = device.subscription;
    return [endpoint, null, null, keys.p256dh, keys.auth];
  }
  if (device.platform === 'apns') return [device.token, device.topic ?? null, device.environment ?? null, null, null];
  return [device.token, null, null, null, null];
}

export const LIVE = 'removed_at IS NULL';

/**
 * {@link DeviceStore} on the `devices` table. A device has an integer `id` that deliveries reference; removing it
 * sets `removed_at` (the row stays while deliveries show where they went, until retention), and registering the id
 * again revives it. A token or endpoint is unique among live devices of a platform.
 */
export function createDeviceStore(context: SqliteContext): DeviceStore {
  const { statement, run, read, transaction } = context;
  return {
    upsert: (device) =>
      run(() =>
        transaction(() => {
          // A reinstalled app registers the same token under a new device id: the old record is removed.
          const displaced = (
            statement(
              `UPDATE devices SET removed_at = ? WHERE platform = ? AND address = ? AND ${LIVE} AND device_id <> ?
               RETURNING device_id`,
            ).all(context.now(), device.platform, deviceAddressKey(device), device.deviceId) as Row[]
          ).map((row) => text(row.device_id)!);
          statement(
            `INSERT INTO devices (${ADDRESS_COLUMNS}, user_id, public_key, key_algorithm, name, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (device_id) DO UPDATE SET platform = excluded.platform, address = excluded.address,
               topic = excluded.topic, environment = excluded.environment, p256dh = excluded.p256dh,
               auth = excluded.auth, user_id = excluded.user_id, public_key = excluded.public_key,
               key_algorithm = excluded.key_algorithm, name = excluded.name, created_at = excluded.created_at,
               updated_at = excluded.updated_at, removed_at = NULL`,
          ).run(
            device.deviceId,
            device.platform,
            ...addressValues(device),
            device.userId,
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
      read(() => {
        const row = statement(`SELECT * FROM devices WHERE device_id = ? AND ${LIVE}`).get(deviceId) as Row | undefined;
        return row === undefined ? undefined : toDevice(row);
      }),
    listByUser: (userId) =>
      read(() =>
        (
          statement(`SELECT * FROM devices WHERE user_id = ? AND ${LIVE} ORDER BY created_at, device_id`).all(
            userId,
          ) as Row[]
        ).map(toDevice),
      ),
    listByUsers: (userIds) =>
      read(() => {
        if (userIds.length === 0) return [];
        // One JSON array parameter instead of N placeholders: no statement per page size, no variable limit.
        return (
          statement(
            `SELECT * FROM devices WHERE user_id IN (SELECT value FROM json_each(?)) AND ${LIVE}
             ORDER BY user_id, created_at, device_id`,
          ).all(JSON.stringify(userIds)) as Row[]
        ).map(toDevice);
      }),
    remove: (deviceId) =>
      run(
        () =>
          Number(
            statement(`UPDATE devices SET removed_at = ? WHERE device_id = ? AND ${LIVE}`).run(context.now(), deviceId)
              .changes,
          ) > 0,
      ),
    countByUser: (userId) =>
      run(() => {
        const row = statement(`SELECT count(*) AS n FROM devices WHERE user_id = ? AND ${LIVE}`).get(userId) as Row;
        return int(row.n) ?? 0;
      }),
  };
}
