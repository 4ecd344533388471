/**
 * A device as the response protocol sees it: a key pair made "on the device", enrolled with a one-time code, and
 * proofs signed with it (docs/protocol.md).
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { Relay } from '../../src/index.js';
import { ACTION_DEFAULTS, signProof } from '../../src/index.js';

export interface TestDevice {
  deviceId: string;
  algorithm: 'ES256' | 'Ed25519';
  privateKey: KeyObject;
  publicJwk: JsonWebKey;
}

export function makeDeviceKey(deviceId: string, algorithm: 'ES256' | 'Ed25519' = 'ES256'): TestDevice {
  const { privateKey, publicKey } =
    algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { deviceId, algorithm, privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as JsonWebKey };
}

/** Enrols `device` (already registered by the scenario with its push address) for `userId` with a fresh code. */
export async function enrolDevice(relay: Relay, userId: string, device: TestDevice, address: Record<string, unknown>) {
  const { code } = await relay.devices.issueEnrolmentCode(userId);
  return relay.devices.enrol({
    ...(address as { platform: 'fcm'; token: string }),
    code,
    deviceId: device.deviceId,
    publicKey: device.publicJwk,
    algorithm: device.algorithm,
  });
}

/** A response proof by `device` for `token`, signed at `at` (ms). */
export function responseProof(
  device: TestDevice,
  token: string,
  at: number,
  claims: {
    decision?: string;
    code?: string;
    jti?: string;
    url?: string;
    method?: 'POST' | 'GET';
    comment?: string;
  } = {},
) {
  return signProof({
    privateKey: device.privateKey,
    algorithm: device.algorithm,
    deviceId: device.deviceId,
    token,
    method: claims.method ?? 'POST',
    url: claims.url ?? (claims.method === 'GET' ? ACTION_DEFAULTS.detailsUrl : ACTION_DEFAULTS.respondUrl),
    iat: Math.floor(at / 1000),
    ...(claims.decision !== undefined ? { decision: claims.decision } : {}),
    ...(claims.code !== undefined ? { code: claims.code } : {}),
    ...(claims.jti !== undefined ? { jti: claims.jti } : {}),
    ...(claims.comment !== undefined ? { comment: claims.comment } : {}),
  });
}
