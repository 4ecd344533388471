import { type Clock, type DeviceRecord, IdrelayError, type Store, type WebPushSubscription } from '@idrelay/core';
import { newSecret, tokenHash } from '../actions/token-hash.js';
import { type DeviceKeyAlgorithm, type DevicePublicKey, parseDeviceKey } from './device-key.js';

/** Default lifetime of an enrolment code: 10 minutes. */
export const ENROLMENT_CODE_TTL_MS = 10 * 60_000;
const MAX_ENROLMENT_TTL_MS = 24 * 60 * 60_000;

/**
 * Checks a bearer token sent with an enrolment (an OIDC access token, a session token of your app) and says whose
 * it is; throw or return `undefined` to refuse it. `@idrelay/identity-oidc` will provide one.
 */
export type VerifyBearer = (token: string) => Promise<{ userId: string } | undefined>;

/**
 * An enrolment as the app sends it (docs/protocol.md §2): authenticated by a one-time `code` (from a link or QR
 * code) or a `bearer` token, with the push address and the public key made on the device.
 *
 * @example
 * ```ts
 * await relay.devices.enrol({ code, deviceId: 'pixel-8', platform: 'fcm', token: fcmToken, publicKey: jwk, algorithm: 'ES256' });
 * ```
 */
export type EnrolmentRequest = {
  deviceId: string;
  name?: string;
  /** The device's public key: a public JWK, or SPKI DER in base64url. */
  publicKey: DevicePublicKey;
  algorithm: DeviceKeyAlgorithm;
} & ({ code: string; bearer?: undefined } | { bearer: string; code?: undefined }) &
  (
    | { platform: 'apns'; token: string; topic?: string; environment?: 'production' | 'sandbox' }
    | { platform: 'fcm'; token: string }
    | { platform: 'webpush'; subscription: WebPushSubscription }
  );

/** What {@link createEnrolment} needs. */
export interface EnrolmentOptions {
  store: Store;
  clock: Clock;
  verifyBearer?: VerifyBearer;
  /** Saves the device record (the registration path, with its per-user cap and token de-duplication). */
  save(device: DeviceRecord, existing: DeviceRecord | undefined): Promise<void>;
}

function invalid(message: string): IdrelayError<'ERR_ENROL_INVALID'> {
  return new IdrelayError('ERR_ENROL_INVALID', message);
}

/**
 * One-time enrolment codes and key enrolment. A code has 256 random bits, is bound to one user, is single use and
 * short-lived, and only its SHA-256 is stored (an action-token row with `purpose: 'enrolment'`). The request and
 * the key are checked before the code is consumed, so a typo in the key does not cost the user the code.
 */
export function createEnrolment(options: EnrolmentOptions) {
  const { store, clock } = options;
  return {
    async issueEnrolmentCode(
      userId: string,
      issue: { ttlMs?: number } = {},
    ): Promise<{ code: string; expiresAt: number }> {
      if (typeof userId !== 'string' || userId.length === 0 || userId.length > 512) {
        throw invalid('issueEnrolmentCode needs a userId of 1-512 characters');
      }
      const ttlMs = issue.ttlMs ?? ENROLMENT_CODE_TTL_MS;
      if (!Number.isInteger(ttlMs) || ttlMs < 1_000 || ttlMs > MAX_ENROLMENT_TTL_MS) {
        throw invalid('ttlMs must be an integer between 1 s and 24 h');
      }
      const code = newSecret();
      const now = clock.now();
      const expiresAt = now + ttlMs;
      await store.actionTokens.put({
        tokenHash: tokenHash(code),
        notificationId: 'enrolment',
        userId,
        deviceId: '',
        actions: ['enrol'],
        purpose: 'enrolment',
        expiresAt,
        createdAt: now,
      });
      await store.audit.append([
        { at: now, action: 'enrolment.code-issued', actor: userId, target: userId, details: { expiresAt } },
      ]);
      return { code, expiresAt };
    },

    async enrol(request: EnrolmentRequest): Promise<{ device: DeviceRecord; replaced: boolean }> {
      const r = request as Partial<EnrolmentRequest> & Record<string, unknown>;
      if (typeof r !== 'object' || r === null) throw invalid('An enrolment must be an object');
      if (typeof r.deviceId !== 'string' || r.deviceId.length === 0 || r.deviceId.length > 512) {
        throw invalid('An enrolment needs a deviceId of 1-512 characters');
      }
      const hasCode = typeof r.code === 'string' && r.code.length > 0;
      const hasBearer = typeof r.bearer === 'string' && r.bearer.length > 0;
      if (hasCode === hasBearer) throw invalid('An enrolment needs exactly one of code or bearer');
      if (r.publicKey === undefined) throw invalid('An enrolment needs the public key made on the device');
      const key = parseDeviceKey(r.publicKey, r.algorithm as DeviceKeyAlgorithm);
      const now = clock.now();

      let userId: string;
      if (hasCode) {
        const hash = tokenHash(r.code as string);
        const stored = await store.actionTokens.get(hash);
        if (stored?.record.purpose !== 'enrolment') {
          throw new IdrelayError('ERR_ENROL_CODE_INVALID', 'The enrolment code is not valid');
        }
        userId = stored.record.userId;
        await assertOwnership(r.deviceId, userId);
        const consumed = await store.actionTokens.consume(hash, now);
        if (consumed.status !== 'ok')
          throw new IdrelayError('ERR_ENROL_CODE_INVALID', 'The enrolment code is not valid');
      } else {
        if (options.verifyBearer === undefined) {
          throw new IdrelayError('ERR_ENROL_BEARER_INVALID', 'No verifyBearer is configured; enrol with a code');
        }
        let who: { userId: string } | undefined;
        try {
          who = await options.verifyBearer(r.bearer as string);
        } catch (cause) {
          throw new IdrelayError('ERR_ENROL_BEARER_INVALID', 'The bearer token was refused', { cause });
        }
        if (typeof who?.userId !== 'string' || who.userId.length === 0) {
          throw new IdrelayError('ERR_ENROL_BEARER_INVALID', 'The bearer token was refused');
        }
        userId = who.userId;
        await assertOwnership(r.deviceId, userId);
      }

      const { code: _code, bearer: _bearer, publicKey: _key, algorithm: _alg, ...address } = r;
      const existing = await store.devices.get(r.deviceId);
      const device = {
        ...address,
        userId,
        publicKey: key.spki,
        keyAlgorithm: key.algorithm,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      } as DeviceRecord;
      await options.save(device, existing);
      // A replaced key may be a lost or cloned device's: its outstanding tokens die with it.
      const revoked = existing?.publicKey !== undefined ? await store.actionTokens.revokeByDevice(r.deviceId, now) : 0;
      await store.audit.append([
        {
          at: now,
          action: existing?.publicKey !== undefined ? 'device.key-replaced' : 'device.enrolled',
          actor: userId,
          target: r.deviceId,
          details: { algorithm: key.algorithm, via: hasCode ? 'code' : 'bearer', revokedTokens: revoked },
        },
      ]);
      return { device, replaced: existing?.publicKey !== undefined };
    },
  };

  async function assertOwnership(deviceId: string, userId: string): Promise<void> {
    const existing = await store.devices.get(deviceId);
    if (existing !== undefined && existing.userId !== userId) {
      throw new IdrelayError('ERR_ENROL_DEVICE_CONFLICT', `Device ${deviceId} is enrolled by another user`, {
        details: { deviceId },
      });
    }
  }
}
