import {
  type Clock,
  type DeviceRecord,
  IdrelayError,
  type Platform,
  type Store,
  type WebPushSubscription,
} from '@idrelay/core';
import { createEnrolment, type EnrolmentRequest, type VerifyBearer } from './enrolment.js';

/**
 * A device registration as an app or the gateway sends it.
 *
 * @example
 * ```ts
 * const registration: DeviceRegistration = { userId: 'u-1', deviceId: 'pixel', platform: 'fcm', token: 'fcm-token…' };
 * ```
 */
export type DeviceRegistration = {
  userId: string;
  deviceId: string;
  name?: string;
  /** SPKI DER, base64url: the key that signs action responses. */
  publicKey?: string;
  keyAlgorithm?: 'ES256' | 'Ed25519';
} & (
  | { platform: 'apns'; token: string; topic?: string; environment?: 'production' | 'sandbox' }
  | { platform: 'fcm'; token: string }
  | { platform: 'webpush'; subscription: WebPushSubscription }
);

/** What `relay.devices.update` may change: a rotated token or subscription, a new name or key. */
export interface DevicePatch {
  name?: string;
  publicKey?: string;
  keyAlgorithm?: 'ES256' | 'Ed25519';
  token?: string;
  topic?: string;
  environment?: 'production' | 'sandbox';
  subscription?: WebPushSubscription;
}

/** Device registration, as exposed on `relay.devices`. */
export interface RelayDevices {
  /**
   * Registers (or re-registers) a device. A token already held by another device moves to this one, so a
   * reinstalled app never gets a push twice; the displaced device ids are returned.
   *
   * @throws {IdrelayError} `ERR_DEVICE_INVALID` for a malformed registration, `ERR_DEVICE_LIMIT` when the user
   * already has the maximum number of devices.
   */
  register(registration: DeviceRegistration): Promise<{ device: DeviceRecord; displaced: string[] }>;
  /** Changes a registered device (new token after rotation, new name). */
  update(deviceId: string, patch: DevicePatch): Promise<DeviceRecord>;
  /**
   * Removes a device (unenrols it) and revokes its unused action tokens, so a push already on its way can no
   * longer be answered; `false` when it was not registered.
   */
  unregister(deviceId: string): Promise<boolean>;
  list(userId: string): Promise<DeviceRecord[]>;
  /**
   * Issues a one-time enrolment code for `userId` (256 random bits, base64url; default lifetime 10 minutes; only
   * its SHA-256 is stored), to hand to the app as a link or QR code. docs/protocol.md §2.
   *
   * @throws {IdrelayError} `ERR_ENROL_INVALID` for an empty user id or a TTL outside 1 s-24 h.
   * @example
   * ```ts
   * const { code } = await relay.devices.issueEnrolmentCode('u-1', { ttlMs: 5 * 60_000 });
   * ```
   */
  issueEnrolmentCode(userId: string, options?: { ttlMs?: number }): Promise<{ code: string; expiresAt: number }>;
  /**
   * Enrols a device's public key (P-256 for ES256, Ed25519), authenticated by a one-time code or a bearer token
   * (checked by the relay's `verifyBearer`). Enrolling an enrolled device again replaces its key and revokes its
   * unused tokens. docs/protocol.md §2.
   *
   * @throws {IdrelayError} `ERR_ENROL_INVALID`, `ERR_ENROL_KEY_INVALID`, `ERR_ENROL_CODE_INVALID`,
   * `ERR_ENROL_BEARER_INVALID`, `ERR_ENROL_DEVICE_CONFLICT`, `ERR_DEVICE_INVALID` (push address), `ERR_DEVICE_LIMIT`.
   */
  enrol(request: EnrolmentRequest): Promise<{ device: DeviceRecord; replaced: boolean }>;
}

const PLATFORMS: readonly Platform[] = ['apns', 'fcm', 'webpush'];

function invalid(message: string): IdrelayError<'ERR_DEVICE_INVALID'> {
  return new IdrelayError('ERR_DEVICE_INVALID', message, { details: {} });
}

function check(registration: DeviceRegistration): void {
  const r = registration as Partial<DeviceRegistration> & {
    token?: unknown;
    subscription?: Partial<WebPushSubscription>;
  };
  if (typeof r.userId !== 'string' || r.userId.length === 0) throw invalid('A device needs a userId');
  if (typeof r.deviceId !== 'string' || r.deviceId.length === 0 || r.deviceId.length > 512)
    throw invalid('A device needs a deviceId of 1-512 characters');
  if (!PLATFORMS.includes(r.platform as Platform)) throw invalid(`Unknown platform "${String(r.platform)}"`);
  if (r.platform === 'webpush') {
    const s = r.subscription;
    if (!s || typeof s.endpoint !== 'string' || !/^https:\/\//.test(s.endpoint) || !s.keys?.p256dh || !s.keys?.auth) {
      throw invalid('A Web Push device needs a subscription with an https endpoint and p256dh/auth keys');
    }
  } else if (typeof r.token !== 'string' || r.token.length < 8 || r.token.length > 4096) {
    throw invalid(`A ${r.platform} device needs a token`);
  }
}

/**
 * Device registration on the store, with a per-user cap and token de-duplication across users.
 *
 * @example
 * ```ts
 * const devices = createRelayDevices({ store, clock, maxDevicesPerUser: 10, audit: true });
 * await devices.register({ userId: 'u-1', deviceId: 'iphone', platform: 'apns', token: 'ab12…' });
 * ```
 */
export function createRelayDevices(options: {
  store: Store;
  clock: Clock;
  maxDevicesPerUser: number;
  /** Checks bearer tokens of enrolments; without it only enrolment codes are accepted. */
  verifyBearer?: VerifyBearer;
}): RelayDevices {
  const { store, clock } = options;
  async function save(device: DeviceRecord, action: string): Promise<string[]> {
    const { displaced } = await store.devices.upsert(device);
    await store.audit.append([
      {
        at: clock.now(),
        action,
        actor: device.userId,
        target: device.deviceId,
        details: { platform: device.platform, displaced },
      },
    ]);
    return displaced;
  }
  async function checkCapacity(userId: string, existing: DeviceRecord | undefined): Promise<void> {
    if (!existing && (await store.devices.countByUser(userId)) >= options.maxDevicesPerUser) {
      throw new IdrelayError('ERR_DEVICE_LIMIT', `User already has ${options.maxDevicesPerUser} devices`, {
        details: { userId, limit: options.maxDevicesPerUser },
      });
    }
  }
  const enrolment = createEnrolment({
    store,
    clock,
    ...(options.verifyBearer ? { verifyBearer: options.verifyBearer } : {}),
    async save(device, existing) {
      check(device as DeviceRegistration);
      await checkCapacity(device.userId, existing);
      await save(device, existing ? 'device.updated' : 'device.registered');
    },
  });
  return {
    issueEnrolmentCode: enrolment.issueEnrolmentCode,
    enrol: enrolment.enrol,
    async register(registration) {
      check(registration);
      const existing = await store.devices.get(registration.deviceId);
      if (existing && existing.userId !== registration.userId) {
        throw invalid(`Device ${registration.deviceId} belongs to another user; unregister it first`);
      }
      await checkCapacity(registration.userId, existing);
      const now = clock.now();
      // A registration without a key (a token refresh) keeps the enrolled one: keys change only by enrolment.
      const enrolled =
        registration.publicKey === undefined && existing?.publicKey !== undefined
          ? { publicKey: existing.publicKey, keyAlgorithm: existing.keyAlgorithm }
          : {};
      const device = {
        ...registration,
        ...enrolled,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      } as DeviceRecord;
      const displaced = await save(device, existing ? 'device.updated' : 'device.registered');
      return { device, displaced };
    },
    async update(deviceId, patch) {
      const existing = await store.devices.get(deviceId);
      if (!existing) throw invalid(`Device ${deviceId} is not registered`);
      const device = { ...existing, ...patch, updatedAt: clock.now() } as DeviceRecord;
      check(device as DeviceRegistration);
      await save(device, 'device.updated');
      return device;
    },
    async unregister(deviceId) {
      const existing = await store.devices.get(deviceId);
      const removed = await store.devices.remove(deviceId);
      const at = clock.now();
      const revokedTokens = await store.actionTokens.revokeByDevice(deviceId, at);
      if (removed) {
        await store.audit.append([
          {
            at,
            action: 'device.unregistered',
            actor: existing?.userId ?? 'system',
            target: deviceId,
            details: { revokedTokens },
          },
        ]);
      }
      return removed;
    },
    list(userId) {
      return store.devices.listByUser(userId);
    },
  };
}
