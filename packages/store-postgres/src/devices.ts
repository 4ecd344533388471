import { type DeviceRecord, type DeviceStore, deviceAddressKey } from '@idrelay/core';
import type { PgContext, Query, Row } from './context.js';
import { num, str } from './context.js';

/** The platform-specific part of the address (token, topic, environment, subscription), kept as JSON. */
function addressOf(device: DeviceRecord): Record<string, unknown> {
  const { deviceId, platform, userId, publicKey, keyAlgorithm, name, createdAt, updatedAt, ...address } = device;
  return address;
}

const toDevice = (row: Row): DeviceRecord => {
  const record = {
    deviceId: str(row.device_id)!,
    platform: str(row.platform)!,
    ...(row.address as Record<string, unknown>),
    userId: str(row.user_id)!,
    createdAt: num(row.created_at)!,
    updatedAt: num(row.updated_at)!,
  } as DeviceRecord;
  const publicKey = str(row.public_key);
  const keyAlgorithm = str(row.key_algorithm);
  const name = str(row.name);
  if (publicKey !== undefined) record.publicKey = publicKey;
  if (keyAlgorithm !== undefined) record.keyAlgorithm = keyAlgorithm as NonNullable<DeviceRecord['keyAlgorithm']>;
  if (name !== undefined) record.name = name;
  return record;
};

const UNIQUE_VIOLATION = '23505';

/** {@link DeviceStore} on the `devices` table; a token or endpoint is unique per platform. */
export function createDeviceStore(context: PgContext): DeviceStore {
  const { query } = context;
  const devices = context.table('devices');

  const upsertOnce = (device: DeviceRecord) =>
    context.transaction(async (tx: Query) => {
      // A reinstalled app registers the same token under a new device id: the old record goes.
      const displaced = await tx(
        `DELETE FROM ${devices} WHERE platform = $1 AND address_key = $2 AND device_id <> $3 RETURNING device_id`,
        [device.platform, deviceAddressKey(device), device.deviceId],
      );
      await tx(
        `INSERT INTO ${devices} (device_id, user_id, platform, address_key, address, public_key, key_algorithm, name,
           created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (device_id) DO UPDATE SET user_id = excluded.user_id, platform = excluded.platform,
           address_key = excluded.address_key, address = excluded.address, public_key = excluded.public_key,
           key_algorithm = excluded.key_algorithm, name = excluded.name, created_at = excluded.created_at,
           updated_at = excluded.updated_at`,
        [
          device.deviceId,
          device.userId,
          device.platform,
          deviceAddressKey(device),
          JSON.stringify(addressOf(device)),
          device.publicKey ?? null,
          device.keyAlgorithm ?? null,
          device.name ?? null,
          device.createdAt,
          device.updatedAt,
        ],
      );
      return { displaced: displaced.rows.map((row) => str(row.device_id)!) };
    });

  return {
    upsert: async (device) => {
      try {
        return await upsertOnce(device);
      } catch (error) {
        // Two devices registering one token at the same instant: both deleted nothing, one insert lost the race
        // on the unique address. Once more, now that the winner is committed, moves the token as usual.
        const sqlstate = (error as { details?: { sqlstate?: string } }).details?.sqlstate;
        if (sqlstate !== UNIQUE_VIOLATION) throw error;
        return upsertOnce(device);
      }
    },
    get: async (deviceId) => {
      const { rows } = await query(`SELECT * FROM ${devices} WHERE device_id = $1`, [deviceId]);
      return rows[0] === undefined ? undefined : toDevice(rows[0]);
    },
    listByUser: async (userId) => {
      const { rows } = await query(`SELECT * FROM ${devices} WHERE user_id = $1 ORDER BY created_at, device_id`, [
        userId,
      ]);
      return rows.map(toDevice);
    },
    listByUsers: async (userIds) => {
      if (userIds.length === 0) return [];
      // One array parameter instead of N placeholders: one statement text for every page size.
      const { rows } = await query(
        `SELECT * FROM ${devices} WHERE user_id = ANY($1::text[]) ORDER BY user_id, created_at, device_id`,
        [userIds],
      );
      return rows.map(toDevice);
    },
    remove: async (deviceId) => {
      const result = await query(`DELETE FROM ${devices} WHERE device_id = $1`, [deviceId]);
      return (result.rowCount ?? 0) > 0;
    },
    countByUser: async (userId) => {
      const { rows } = await query(`SELECT count(*) AS n FROM ${devices} WHERE user_id = $1`, [userId]);
      return num(rows[0]?.n) ?? 0;
    },
  };
}
