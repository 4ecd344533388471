import type { DeviceAddress } from '../../messages/push-message.js';

/** A registered device. */
export type DeviceRecord = DeviceAddress & {
  userId: string;
  /**
   * The device's enrolled public key (SPKI DER, base64url), which signs action responses; without one the device
   * receives notifications but cannot approve.
   */
  publicKey?: string;
  /** Algorithm of `publicKey`. */
  keyAlgorithm?: 'ES256' | 'Ed25519';
  name?: string;
  createdAt: number;
  updatedAt: number;
};

/**
 * Registered devices. A token (or Web Push endpoint) belongs to at most one device.
 *
 * Deliveries reference devices: a delivery's address is the device's address when it is claimed (a rotated
 * token is used at once), and a removed device's live deliveries are never sent (the claim cancels them).
 */
export interface DeviceStore {
  /**
   * Inserts or updates by `deviceId`. A token already held by another device is moved to this one (the other
   * device record is removed and returned in `displaced`), so a reinstalled app never gets pushes twice.
   */
  upsert(device: DeviceRecord): Promise<{ displaced: string[] }>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  listByUser(userId: string): Promise<DeviceRecord[]>;
  /** Devices of many users at once, for fan-out: one query per page of users. */
  listByUsers(userIds: readonly string[]): Promise<DeviceRecord[]>;
  /** Removes a device; `true` when it existed. Its pending deliveries will not be sent. */
  remove(deviceId: string): Promise<boolean>;
  countByUser(userId: string): Promise<number>;
}
