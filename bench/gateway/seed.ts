/** Seeding shared by the gateway benchmark's server processes: enrolled devices, pending verifications, tokens. */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { Store } from '@idrelay/core';
import { codeHash, signProof, tokenHash } from '@idrelay/engine';

export const CODE = '042917';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const devicePublicKey = publicKey;
const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');

/** An APNs device token (64 hex digits) for user `i`. */
export const apnsToken = (i: number) => `f${i.toString(16).padStart(63, '0')}`;

/** `count` users `u-<i>`, each with one enrolled iPhone (P-256 key). */
export async function seedDevices(store: Store, count: number, now = Date.now()): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.devices.upsert({
      deviceId: `d-${i}`,
      userId: `u-${i}`,
      platform: 'apns',
      token: apnsToken(i),
      publicKey: spki,
      keyAlgorithm: 'ES256',
      createdAt: now,
      updatedAt: now,
    });
  }
}

/**
 * A pending login verification per user with its action token, and the signed `{ token, proof }` body each device
 * would POST to `respondUrl` (approve, with the number-matching code).
 */
export async function seedResponses(store: Store, count: number, respondUrl: string, now = Date.now()) {
  const bodies: string[] = [];
  const tokens = [];
  for (let i = 0; i < count; i++) {
    const flowId = `v-${i}`;
    await store.flows.create({
      id: flowId,
      kind: 'login-verification',
      definitionVersion: 1,
      key: flowId,
      state: 'pending',
      data: {
        userId: `u-${i}`,
        application: { id: 'app' },
        context: {},
        codeHash: codeHash(flowId, CODE),
        expiresAt: now + 3_600_000,
      },
      transitions: 0,
      createdAt: now,
      updatedAt: now,
    });
    const token = randomBytes(32).toString('base64url');
    tokens.push({
      tokenHash: tokenHash(token),
      notificationId: `n-${i}`,
      userId: `u-${i}`,
      deviceId: `d-${i}`,
      actions: ['approve', 'deny', 'report'],
      flowId,
      expiresAt: now + 3_600_000,
      createdAt: now,
    });
    const proof = await signProof({
      privateKey,
      algorithm: 'ES256',
      deviceId: `d-${i}`,
      token,
      method: 'POST',
      url: respondUrl,
      decision: 'approve',
      code: CODE,
    });
    bodies.push(JSON.stringify({ token, proof }));
  }
  for (let i = 0; i < tokens.length; i += 1_000) await store.actionTokens.putMany(tokens.slice(i, i + 1_000));
  return bodies;
}

/** The floor's signed input: a proof-sized input and its ES256 signature with the same kind of key. */
export function floorSignature() {
  const input = Buffer.from(randomBytes(300).toString('base64url'));
  return { input, signature: sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }) };
}
