import { type DeviceAddress, type DeviceRecord, type DeviceStore, deviceAddressKey } from '@idrelay/core';
import { coalesceReads } from './coalesce.js';
import type { PgContext, Query, Row } from './context.js';
import { num, str } from './context.js';

/** The columns that make a device's address, from `devices v`. */
export const ADDRESS_COLUMNS = 'v.device_id, v.platform, v.address, v.topic, v.environment, v.p256dh, v.auth';

/** A device's address from its columns (`ADDRESS_COLUMNS`): no JSON to parse, so claims build targets cheaply. */
export function addressOf(row: Row): DeviceAddress {
  const deviceId = str(row.device_id)!;
  const address = str(row.address)!;
  switch (row.platform) {
    case 'webpush':
      return {
        deviceId,
        platform: 'webpush',
        subscription: { endpoint: address, keys: { p256dh: str(row.p256dh) ?? '', auth: str(row.auth) ?? '' } },
      };
    case 'apns': {
      const apns: DeviceAddress = { deviceId, platform: 'apns', token: address };
      const topic = str(row.topic);
      const environment = str(row.environment);
      if (topic !== undefined) apns.topic = topic;
      if (environment !== undefined) apns.environment = environment as 'production' | 'sandbox';
      return apns;
    }
    default:
      return { deviceId, platform: 'fcm', token: address };
  }
}

export const toDevice = (row: Row): DeviceRecord => {
  const record: DeviceRecord = {
    ...addressOf(row),
    userId: str(row.user_id)!,
    createdAt: num(row.created_at)!,
    updatedAt: num(row.updated_at)!,
  };
  const publicKey = str(row.public_key);
  const keyAlgorithm = str(row.key_algorithm);
  const name = str(row.name);
  if (publicKey !== undefined) record.publicKey = publicKey;
  if (keyAlgorithm !== undefined) record.keyAlgorithm = keyAlgorithm as NonNullable<DeviceRecord['keyAlgorithm']>;
  if (name !== undefined) record.name = name;
  return record;
};

/** `topic`, `environment`, `p256dh`, `auth`: the address columns beside the token or endpoint. */
function addressColumns(device: DeviceRecord): (string | null)[] {
  if (device.platform === 'webpush')
    return [null, null, device.subscription.keys.p256dh, device.subscription.keys.auth];
  if (device.platform === 'apns') return [device.topic ?? null, device.environment ?? null, null, null];
  return [null, null, null, null];
}

const UNIQUE_VIOLATION = '23505';
const LIVE = 'removed_at IS NULL';

/**
 * {@link DeviceStore} on the `devices` table. A device has an integer `id` that deliveries reference; removing a
 * device only stamps `removed_at`, so a delivery's history still shows where it went. A token or endpoint is
 * unique among live devices of a platform.
 */
export function createDeviceStore(context: PgContext): DeviceStore {
  const { query } = context;
  const devices = context.table('devices');
  const columns = `device_id, user_id, platform, address, topic, environment, p256dh, auth, public_key, key_algorithm,
    name, created_at, updated_at`;
  const byId = coalesceReads(async (ids) => {
    const { rows } = await query(`SELECT * FROM ${devices} v WHERE device_id = ANY($1::text[]) AND ${LIVE}`, [ids]);
    return new Map(rows.map((row) => [str(row.device_id)!, row]));
  }, toDevice);

  const upsertOnce = (device: DeviceRecord) =>
    context.transaction(async (tx: Query) => {
      const address = deviceAddressKey(device);
      // A reinstalled app registers the same token under a new device id: the old record is removed.
      const displaced = await tx(
        `UPDATE ${devices} SET removed_at = $4
         WHERE platform = $1 AND address = $2 AND device_id <> $3 AND ${LIVE} RETURNING device_id`,
        [device.platform, address, device.deviceId, context.now()],
      );
      const values = [
        device.deviceId,
        device.userId,
        device.platform,
        address,
        ...addressColumns(device),
        device.publicKey ?? null,
        device.keyAlgorithm ?? null,
        device.name ?? null,
        device.createdAt,
        device.updatedAt,
      ];
      // An update first: an INSERT … ON CONFLICT would draw an identity value on every re-registration.
      const updated = await tx(
        `UPDATE ${devices} SET (${columns}, removed_at) = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)
         WHERE device_id = $1`,
        values,
      );
      if (updated.rowCount === 0) {
        await tx(
          `INSERT INTO ${devices} (${columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
          values,
        );
      }
      return { displaced: displaced.rows.map((row) => str(row.device_id)!) };
    });

  return {
    upsert: async (device) => {
      try {
        return await upsertOnce(device);
      } catch (error) {
        // Two registrations of one token (or one new device id) at the same instant: one lost the race on a
        // unique index. Once more, now that the winner is committed, moves the token as usual.
        const sqlstate = (error as { details?: { sqlstate?: string } }).details?.sqlstate;
        if (sqlstate !== UNIQUE_VIOLATION) throw error;
        return upsertOnce(device);
      }
    },
    get: (deviceId) => byId(deviceId),
    listByUser: async (userId) => {
      const { rows } = await query(
        `SELECT * FROM ${devices} WHERE user_id = $1 AND ${LIVE} ORDER BY created_at, device_id`,
        [userId],
      );
      return rows.map(toDevice);
    },
    listByUsers: async (userIds) => {
      if (userIds.length === 0) return [];
      // One array parameter instead of N placeholders: one statement text for every page size.
      const { rows } = await query(
        `SELECT * FROM ${devices} WHERE user_id = ANY($1::text[]) AND ${LIVE} ORDER BY user_id, created_at, device_id`,
        [userIds],
      );
      return rows.map(toDevice);
    },
    remove: async (deviceId) => {
      const result = await query(`UPDATE ${devices} SET removed_at = $2 WHERE device_id = $1 AND ${LIVE}`, [
        deviceId,
        context.now(),
      ]);
      return (result.rowCount ?? 0) > 0;
    },
    countByUser: async (userId) => {
      const { rows } = await query(`SELECT count(*) AS n FROM ${devices} WHERE user_id = $1 AND ${LIVE}`, [userId]);
      return num(rows[0]?.n) ?? 0;
    },
  };
}
