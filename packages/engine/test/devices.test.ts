import { createMemoryStore } from '@idrelay/testkit';
/** Device registration: caps, token moves between users, validation, audit. */
import { describe, expect, it } from 'vitest';
import { createScenario } from './support/scenario.js';

describe('relay.devices', () => {
  it('caps devices per user with ERR_DEVICE_LIMIT but lets a registered device re-register', async () => {
    const s = await createScenario(createMemoryStore(), { maxDevicesPerUser: 2 });
    await expect(
      s.relay.devices.register({ userId: 'alice', deviceId: 'alice-ipad', platform: 'apns', token: 'ipad-token-0001' }),
    ).rejects.toMatchObject({ code: 'ERR_DEVICE_LIMIT', details: { userId: 'alice', limit: 2 } });
    await expect(
      s.relay.devices.register({
        userId: 'alice',
        deviceId: 'alice-iphone',
        platform: 'apns',
        token: 'new-token-0001',
      }),
    ).resolves.toMatchObject({ device: { token: 'new-token-0001' } });
  });

  it('moves a token to its new owner so the same phone never gets a push twice', async () => {
    const s = await createScenario(createMemoryStore());
    const { displaced } = await s.relay.devices.register({
      userId: 'dave',
      deviceId: 'dave-old-phone',
      platform: 'fcm',
      token: 'b2b2b2b2b2b2b2b2',
    });
    expect(displaced).toEqual(['bob-pixel']);
    expect(await s.relay.devices.list('bob')).toEqual([]);
    const audit = await s.store.audit.list({ limit: 100 });
    expect(audit.at(-1)).toMatchObject({
      action: 'device.registered',
      target: 'dave-old-phone',
      details: { displaced: ['bob-pixel'] },
    });
  });

  it('refuses malformed registrations with ERR_DEVICE_INVALID', async () => {
    const s = await createScenario(createMemoryStore());
    const bad = [
      { userId: '', deviceId: 'd', platform: 'fcm', token: 'tttttttttt' },
      { userId: 'u', deviceId: 'd', platform: 'sms', token: 'tttttttttt' },
      { userId: 'u', deviceId: 'd', platform: 'apns', token: 'short' },
      {
        userId: 'u',
        deviceId: 'd',
        platform: 'webpush',
        subscription: { endpoint: 'http://insecure', keys: { p256dh: 'p', auth: 'a' } },
      },
      { userId: 'bob', deviceId: 'alice-iphone', platform: 'apns', token: 'tttttttttt' },
    ];
    for (const registration of bad) {
      await expect(s.relay.devices.register(registration as never)).rejects.toMatchObject({
        code: 'ERR_DEVICE_INVALID',
      });
    }
  });

  it('updates and unregisters devices', async () => {
    const s = await createScenario(createMemoryStore());
    await expect(s.relay.devices.update('dave-pixel', { token: 'rotated-token-01' })).resolves.toMatchObject({
      token: 'rotated-token-01',
    });
    expect(await s.relay.devices.unregister('dave-pixel')).toBe(true);
    expect(await s.relay.devices.unregister('dave-pixel')).toBe(false);
    await expect(s.relay.devices.update('dave-pixel', { name: 'x' })).rejects.toMatchObject({
      code: 'ERR_DEVICE_INVALID',
    });
  });
});
