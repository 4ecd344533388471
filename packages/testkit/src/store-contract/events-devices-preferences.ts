import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDevice, contractEvent, T0 } from './fixtures.js';

/** Events (dedupe, unplanned, rejected), devices and preferences. */
export function describeEventsDevicesPreferences(ctx: ContractContext): void {
  describe('events', () => {
    it('stores an event once per source and id; a redelivery is reported as a duplicate', async () => {
      const first = await ctx.store.events.record(contractEvent('e-1'), T0);
      const again = await ctx.store.events.record(contractEvent('e-1'), T0 + 5);
      expect(first).toEqual({ inserted: true, key: 'https://iam.example.com/contract#e-1' });
      expect(again).toEqual({ inserted: false, key: first.key });
      const stored = await ctx.store.events.get(first.key);
      expect(stored).toEqual({ key: first.key, event: contractEvent('e-1'), status: 'received', receivedAt: T0 });
    });

    it('appends the audit entries given with record (only for a new event) and with markPlanned', async () => {
      const before = (await ctx.store.audit.head())?.seq ?? 0;
      const entry = (action: string) => [{ at: T0, action, actor: 'system', eventRef: 'k' }];
      const first = await ctx.store.events.record(contractEvent('e-audit'), T0, { audit: entry('event.ingested') });
      await ctx.store.events.record(contractEvent('e-audit'), T0 + 1, { audit: entry('event.ingested') });
      await ctx.store.events.markPlanned(first.key, { audit: entry('event.planned') });
      const trail = await ctx.store.audit.list({ afterSeq: before, limit: 10 });
      expect(trail.map((e) => e.action)).toEqual(['event.ingested', 'event.planned']);
      expect((await ctx.store.events.get(first.key))?.status).toBe('planned');
    });

    it('treats the same id from another source as another event', async () => {
      const a = await ctx.store.events.record(contractEvent('e-1', 'https://a.example.com'), T0);
      const b = await ctx.store.events.record(contractEvent('e-1', '/connectors/ldap'), T0);
      expect([a.inserted, b.inserted]).toEqual([true, true]);
      expect(a.key).not.toBe(b.key);
    });

    it('keeps a source with # apart from an id with # (the key escapes the source)', async () => {
      const a = await ctx.store.events.record(contractEvent('c', '/a#b'), T0);
      const b = await ctx.store.events.record(contractEvent('b#c', '/a'), T0);
      expect([a.inserted, b.inserted]).toEqual([true, true]);
      expect((await ctx.store.events.get(a.key))?.event.source).toBe('/a#b');
      expect((await ctx.store.events.get(b.key))?.event.id).toBe('b#c');
    });

    it('lists only events received before a given time, for a sweep that leaves planning in progress alone', async () => {
      await ctx.store.events.record(contractEvent('old'), T0);
      await ctx.store.events.record(contractEvent('new'), T0 + 1_000);
      const swept = await ctx.store.events.listUnplanned(10, { receivedBefore: T0 + 1_000 });
      expect(swept.map((e) => e.event.id)).toEqual(['old']);
    });

    it('lists unplanned events oldest first until they are marked planned', async () => {
      await ctx.store.events.record(contractEvent('late'), T0 + 20);
      await ctx.store.events.record(contractEvent('early'), T0 + 10);
      const { key: third } = await ctx.store.events.record(contractEvent('third'), T0 + 30);
      const unplanned = await ctx.store.events.listUnplanned(10);
      expect(unplanned.map((e) => e.event.id)).toEqual(['early', 'late', 'third']);
      expect(await ctx.store.events.listUnplanned(1)).toHaveLength(1);

      await ctx.store.events.markPlanned(unplanned[0]!.key);
      await ctx.store.events.markPlanned(third);
      expect((await ctx.store.events.listUnplanned(10)).map((e) => e.event.id)).toEqual(['late']);
      expect((await ctx.store.events.get(third))?.status).toBe('planned');
    });

    it('answers undefined for an unknown key', async () => {
      expect(await ctx.store.events.get('https://nowhere.example#0')).toBeUndefined();
    });

    it('records rejected inputs and lists the newest first', async () => {
      const rejected = [1, 2, 3].map((n) => ({
        receivedAt: T0 + n,
        code: 'ERR_EVENT_INVALID',
        reason: `missing field ${n}`,
        raw: `{"n":${n}}`,
      }));
      for (const r of rejected) await ctx.store.events.recordRejected(r);
      expect(await ctx.store.events.listRejected(2)).toEqual([rejected[2], rejected[1]]);
    });
  });

  describe('devices', () => {
    it('returns a device exactly as registered, on every platform', async () => {
      const devices = [
        { ...contractDevice('d-apns', 'alice', 'apns'), publicKey: 'MFkwEwYH', keyAlgorithm: 'ES256' as const },
        { ...contractDevice('d-fcm', 'alice', 'fcm'), name: 'Pixel 9' },
        contractDevice('d-web', 'alice', 'webpush'),
      ];
      for (const device of devices) expect(await ctx.store.devices.upsert(device)).toEqual({ displaced: [] });
      for (const device of devices) expect(await ctx.store.devices.get(device.deviceId)).toEqual(device);
      expect(await ctx.store.devices.get('d-none')).toBeUndefined();
    });

    it('updates a device by id', async () => {
      await ctx.store.devices.upsert(contractDevice('d-1', 'alice', 'fcm', 'old-token'));
      const updated = { ...contractDevice('d-1', 'alice', 'fcm', 'new-token'), updatedAt: T0 + 1 };
      expect(await ctx.store.devices.upsert(updated)).toEqual({ displaced: [] });
      expect(await ctx.store.devices.get('d-1')).toEqual(updated);
      expect(await ctx.store.devices.countByUser('alice')).toBe(1);
    });

    it('moves a token to the device that registers it last and reports the displaced device', async () => {
      await ctx.store.devices.upsert(contractDevice('old-install', 'alice', 'apns', 'shared-token'));
      await ctx.store.devices.upsert(contractDevice('other', 'alice', 'apns', 'other-token'));
      const result = await ctx.store.devices.upsert(contractDevice('new-install', 'bob', 'apns', 'shared-token'));
      expect(result).toEqual({ displaced: ['old-install'] });
      expect(await ctx.store.devices.get('old-install')).toBeUndefined();
      expect((await ctx.store.devices.listByUser('alice')).map((d) => d.deviceId)).toEqual(['other']);
      expect((await ctx.store.devices.listByUser('bob')).map((d) => d.deviceId)).toEqual(['new-install']);
    });

    it('treats a Web Push endpoint like a token', async () => {
      await ctx.store.devices.upsert(contractDevice('browser-1', 'alice', 'webpush', 'sub-1'));
      const result = await ctx.store.devices.upsert(contractDevice('browser-2', 'alice', 'webpush', 'sub-1'));
      expect(result).toEqual({ displaced: ['browser-1'] });
      expect(await ctx.store.devices.countByUser('alice')).toBe(1);
    });

    it('lists the devices of many users at once, and removes devices', async () => {
      await ctx.store.devices.upsert(contractDevice('a-1', 'alice'));
      await ctx.store.devices.upsert(contractDevice('a-2', 'alice', 'apns'));
      await ctx.store.devices.upsert(contractDevice('b-1', 'bob', 'webpush'));
      await ctx.store.devices.upsert(contractDevice('c-1', 'carol'));
      const found = await ctx.store.devices.listByUsers(['alice', 'bob', 'nobody']);
      expect(found.map((d) => d.deviceId).sort()).toEqual(['a-1', 'a-2', 'b-1']);
      expect(await ctx.store.devices.listByUsers([])).toEqual([]);

      expect(await ctx.store.devices.remove('a-1')).toBe(true);
      expect(await ctx.store.devices.remove('a-1')).toBe(false);
      expect(await ctx.store.devices.countByUser('alice')).toBe(1);
      expect(await ctx.store.devices.countByUser('nobody')).toBe(0);
      expect(await ctx.store.devices.get('a-1')).toBeUndefined();
      expect((await ctx.store.devices.listByUsers(['alice'])).map((d) => d.deviceId)).toEqual(['a-2']);
    });

    it('registers a removed device again, under the same id or with its old token', async () => {
      await ctx.store.devices.upsert(contractDevice('d-1', 'alice', 'fcm', 'token-1'));
      await ctx.store.devices.remove('d-1');
      expect(await ctx.store.devices.upsert(contractDevice('d-2', 'alice', 'fcm', 'token-1'))).toEqual({
        displaced: [],
      });
      expect(await ctx.store.devices.upsert(contractDevice('d-1', 'alice', 'fcm', 'token-9'))).toEqual({
        displaced: [],
      });
      expect((await ctx.store.devices.listByUser('alice')).map((d) => d.deviceId).sort()).toEqual(['d-1', 'd-2']);
      expect(await ctx.store.devices.get('d-1')).toEqual(contractDevice('d-1', 'alice', 'fcm', 'token-9'));
    });
  });

  describe('preferences', () => {
    it('round-trips rules and quiet hours, replaces on put, and reads many users at once', async () => {
      const alice = {
        userId: 'alice',
        rules: [
          { category: '*', channel: '*' as const, enabled: true },
          { category: 'announcement', channel: 'webpush' as const, enabled: false },
        ],
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
        updatedAt: T0,
      };
      const bob = { userId: 'bob', rules: [], updatedAt: T0 };
      await ctx.store.preferences.put(alice);
      await ctx.store.preferences.put(bob);
      expect(await ctx.store.preferences.get('alice')).toEqual(alice);
      expect(await ctx.store.preferences.get('bob')).toEqual(bob);
      expect(await ctx.store.preferences.get('carol')).toBeUndefined();

      const { quietHours, ...withoutQuietHours } = alice;
      const changed = { ...withoutQuietHours, updatedAt: T0 + 1 };
      await ctx.store.preferences.put(changed);
      expect(await ctx.store.preferences.get('alice')).toEqual(changed);

      const many = await ctx.store.preferences.getMany(['alice', 'bob', 'carol']);
      expect([...many.keys()].sort()).toEqual(['alice', 'bob']);
      expect(many.get('bob')).toEqual(bob);
      expect((await ctx.store.preferences.getMany([])).size).toBe(0);
    });
  });
}
