/**
 * Enrolment of device keys (docs/protocol.md §2): one-time codes bound to one user, bearer tokens through
 * `verifyBearer`, keys checked for curve and point, re-enrolment replacing the key, unenrol revoking tokens.
 */
import { generateKeyPairSync } from 'node:crypto';
import { isIdrelayError, type Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/index.js';
import { makeDeviceKey } from './support/device-keys.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const fcm = { platform: 'fcm', token: 'b2b2b2b2b2b2b2b2' } as const;

describe('device enrolment', () => {
  let store: Store;
  let s: Scenario;
  beforeEach(async () => {
    store = createMemoryStore();
    s = await createScenario(store, {
      verifyBearer: async (token) => (token === 'good-bearer' ? { userId: 'bob' } : undefined),
    });
  });
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });
  const codeOf = (error: unknown) => (isIdrelayError(error) ? error.code : String(error));
  const enrol = (over: Record<string, unknown>) => {
    const key = makeDeviceKey('bob-pixel');
    return s.relay.devices.enrol({
      ...fcm,
      deviceId: 'bob-pixel',
      publicKey: key.publicJwk,
      algorithm: 'ES256',
      ...over,
    } as never);
  };

  it('issues a code of 256 bits, stores only its hash, and accepts it once for its user', async () => {
    const { code, expiresAt } = await s.relay.devices.issueEnrolmentCode('bob');
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt).toBe(T0 + 10 * 60_000);
    expect((await store.actionTokens.get(tokenHash(code)))?.record).toMatchObject({
      userId: 'bob',
      purpose: 'enrolment',
    });
    const { device } = await enrol({ code });
    expect(device).toMatchObject({ userId: 'bob', deviceId: 'bob-pixel', keyAlgorithm: 'ES256' });
    expect((await store.devices.get('bob-pixel'))?.publicKey).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codeOf(await enrol({ code }).catch((e) => e))).toBe('ERR_ENROL_CODE_INVALID');
  });

  it('refuses an expired, unknown or other-purpose code', async () => {
    const { code } = await s.relay.devices.issueEnrolmentCode('bob', { ttlMs: 60_000 });
    s.clock.advance(60_000);
    expect(codeOf(await enrol({ code }).catch((e) => e))).toBe('ERR_ENROL_CODE_INVALID');
    expect(codeOf(await enrol({ code: 'A'.repeat(43) }).catch((e) => e))).toBe('ERR_ENROL_CODE_INVALID');
    expect(codeOf(await s.relay.devices.issueEnrolmentCode('bob', { ttlMs: 10 }).catch((e) => e))).toBe(
      'ERR_ENROL_INVALID',
    );
  });

  it('keeps the code when the key is bad, so the user can try again', async () => {
    const { code } = await s.relay.devices.issueEnrolmentCode('bob');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    expect(codeOf(await enrol({ code, publicKey: p384 }).catch((e) => e))).toBe('ERR_ENROL_KEY_INVALID');
    const good = makeDeviceKey('x').publicJwk as { x: string; y: string };
    // A point that is not on P-256.
    const offCurve = { ...good, y: Buffer.alloc(32, 7).toString('base64url') };
    expect(codeOf(await enrol({ code, publicKey: offCurve }).catch((e) => e))).toBe('ERR_ENROL_KEY_INVALID');
    const ed = makeDeviceKey('x', 'Ed25519').publicJwk;
    expect(codeOf(await enrol({ code, publicKey: ed }).catch((e) => e))).toBe('ERR_ENROL_KEY_INVALID');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(await enrol({ code, publicKey: privateKey.export({ format: 'jwk' }) }).catch((e) => e))).toBe(
      'ERR_ENROL_KEY_INVALID',
    );
    expect(codeOf(await enrol({ code, algorithm: 'RS256' }).catch((e) => e))).toBe('ERR_ENROL_KEY_INVALID');
    // SPKI base64url and Ed25519 work, with the same code still valid.
    const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
    const { device } = await enrol({ code, publicKey: spki, algorithm: 'Ed25519' });
    expect(device.keyAlgorithm).toBe('Ed25519');
    expect(device.publicKey).toBe(spki);
  });

  it('takes a bearer token through verifyBearer and refuses one it rejects', async () => {
    expect((await enrol({ bearer: 'good-bearer' })).device.userId).toBe('bob');
    expect(codeOf(await enrol({ bearer: 'bad' }).catch((e) => e))).toBe('ERR_ENROL_BEARER_INVALID');
    expect(codeOf(await enrol({}).catch((e) => e))).toBe('ERR_ENROL_INVALID');
    expect(codeOf(await enrol({ bearer: 'good-bearer', code: 'x' }).catch((e) => e))).toBe('ERR_ENROL_INVALID');
  });

  it("refuses to enrol another user's device", async () => {
    const { code } = await s.relay.devices.issueEnrolmentCode('alice');
    expect(codeOf(await enrol({ code }).catch((e) => e))).toBe('ERR_ENROL_DEVICE_CONFLICT');
  });

  it('re-enrolment replaces the key and revokes unused tokens; unenrol revokes them too', async () => {
    await enrol({ bearer: 'good-bearer' });
    const first = (await store.devices.get('bob-pixel'))!.publicKey;
    const token = (n: string) => ({
      tokenHash: n,
      notificationId: 'n-1',
      userId: 'bob',
      deviceId: 'bob-pixel',
      actions: ['approve'],
      expiresAt: T0 + 60_000,
      createdAt: T0,
    });
    await store.actionTokens.put(token('h-1'));
    const { replaced } = await enrol({ bearer: 'good-bearer' });
    expect(replaced).toBe(true);
    expect((await store.devices.get('bob-pixel'))!.publicKey).not.toBe(first);
    expect((await store.actionTokens.get('h-1'))?.revokedAt).toBe(T0);
    await store.actionTokens.put(token('h-2'));
    expect(await s.relay.devices.unregister('bob-pixel')).toBe(true);
    expect((await store.actionTokens.get('h-2'))?.revokedAt).toBe(T0);
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['device.enrolled', 'device.key-replaced', 'device.unregistered']),
    );
  });
});
