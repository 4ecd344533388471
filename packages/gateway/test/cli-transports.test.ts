/**
 * How `idrelay start` picks transports: configured credentials make a platform real (pointed at any origin with
 * its own CA) and keep its stand-in off; the rest run in the sandbox, or are off with `sandbox: false`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApnsStandIn } from '@idrelay/testkit';
import { generateVapidKeys } from '@idrelay/transport-webpush';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load-config.js';
import { createGatewayTransports } from '../src/sandbox/gateway-transports.js';

const dir = () => mkdtemp(join(tmpdir(), 'idrelay-transports-'));

describe('createGatewayTransports', () => {
  it('starts every stand-in without credentials', async () => {
    const t = await createGatewayTransports(resolveConfig({}, { cwd: await dir(), env: {} }));
    try {
      expect(t.modes).toEqual({ apns: 'sandbox', fcm: 'sandbox', webpush: 'sandbox' });
      expect(t.transports.map((x) => x.platform).sort()).toEqual(['apns', 'fcm', 'webpush']);
      expect(Object.keys(t.sandbox?.standIns ?? {}).sort()).toEqual(['apns', 'fcm', 'webpush']);
    } finally {
      await t.close();
    }
  });

  it('uses a real APNs transport, pointed at an origin with its own CA, and no APNs stand-in', async () => {
    const cwd = await dir();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const apns = await startApnsStandIn({ publicKey, teamId: 'TEAM123456', keyId: 'KEY1234567' });
    await writeFile(join(cwd, 'AuthKey.p8'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(cwd, 'apns-ca.pem'), apns.ca);
    const config = resolveConfig(
      {
        transports: {
          apns: {
            keyPath: 'AuthKey.p8',
            keyId: 'KEY1234567',
            teamId: 'TEAM123456',
            topic: 'com.example.app',
            origin: apns.origin,
            ca: 'apns-ca.pem',
          },
          webpush: { ...generateVapidKeys(), subject: 'mailto:ops@example.com' },
        },
      },
      { cwd, env: {} },
    );
    const t = await createGatewayTransports(config);
    try {
      expect(t.modes).toEqual({ apns: 'real', fcm: 'sandbox', webpush: 'real' });
      expect(Object.keys(t.sandbox?.standIns ?? {})).toEqual(['fcm']);
      const transport = t.transports.find((x) => x.platform === 'apns');
      const token = 'ab'.repeat(32);
      const [result] =
        (await transport?.send({ id: 'n-1', urgency: 'high', title: 'Hi' }, [
          { deviceId: 'iphone', platform: 'apns', token },
        ])) ?? [];
      expect(result?.status).toBe('delivered');
      expect(apns.requestsFor(token)[0]?.headers['apns-topic']).toBe('com.example.app');
    } finally {
      await t.close();
      await apns.close();
    }
  });

  it('leaves platforms without credentials off with sandbox: false', async () => {
    const t = await createGatewayTransports(
      resolveConfig({ transports: { sandbox: false } }, { cwd: await dir(), env: {} }),
    );
    expect(t.modes).toEqual({ apns: 'off', fcm: 'off', webpush: 'off' });
    expect(t.transports).toHaveLength(0);
    expect(t.sandbox).toBeUndefined();
    await t.close();
  });

  it('refuses an unreadable key file with ERR_CONFIG_INVALID naming the key, starting nothing', async () => {
    const config = resolveConfig(
      { transports: { apns: { keyPath: 'missing.p8', keyId: 'KEY1234567', teamId: 'TEAM123456', topic: 'a.b' } } },
      { cwd: await dir(), env: {} },
    );
    await expect(createGatewayTransports(config)).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: expect.stringMatching(/^transports\.apns\.keyPath: cannot read/),
    });
  });
});
