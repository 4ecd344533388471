/**
 * Delivery reliability on every driver: pruning, Retry-After, backoff after thrown exceptions, dead letters after
 * a 429 storm, final rejections, receipts — and no delivery ever lost.
 */
import type { IdentityEvent, Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];

let counter = 0;
const locked = (userId = 'dave') =>
  createEvent(
    'idrelay.account.locked',
    { userId, reason: 'risk' },
    { source: '/test', id: `d-${++counter}`, time: new Date(T0).toISOString() },
  );

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`delivery on ${driver.name}`, () => {
    let store: Store;
    let s: Scenario;
    let emitted: IdentityEvent[];
    beforeEach(async () => {
      store = await driver.create();
      s = await createScenario(store, { retry: { maxAttempts: 3, baseMs: 1000 } });
      emitted = [];
      s.relay.subscribe((e) => void emitted.push(e));
    });
    afterEach(async () => {
      await s.relay.close();
      await store.close();
      await driver.cleanup(store);
    });

    it('prunes a device whose token is invalid, with a receipt and an audit entry, and stops targeting it', async () => {
      s.transports.fcm.script = (t) => ({
        deviceId: t.deviceId,
        status: 'invalid-token',
        code: 'ERR_FCM_INVALID_TOKEN',
        reason: 'UNREGISTERED',
      });
      await s.relay.ingest(locked());
      await s.relay.drain();
      expect(await store.devices.get('dave-pixel')).toBeUndefined();
      expect(emitted.map((e) => [e.type, (e.data as { outcome?: string }).outcome])).toEqual([
        ['idrelay.notification.failed', 'invalid-token'],
      ]);
      const audit = await store.audit.list({ limit: 100 });
      expect(audit.some((a) => a.action === 'device.pruned' && a.target === 'dave-pixel')).toBe(true);
      const next = await s.relay.ingest(locked());
      expect(next.deliveries).toBe(0);
    });

    it('honours Retry-After to the millisecond, then delivers', async () => {
      s.transports.fcm.script = (t, _m, call) =>
        call === 1
          ? {
              deviceId: t.deviceId,
              status: 'retry-after',
              code: 'ERR_FCM_RATE_LIMITED',
              reason: 'QUOTA_EXCEEDED',
              retryAfterMs: 30_000,
            }
          : (undefined as never);
      await s.relay.ingest(locked());
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      s.clock.advance(29_999);
      expect((await s.relay.drain()).dispatched).toBe(0);
      s.clock.advance(1);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel']);
      expect(emitted.map((e) => [e.type, (e.data as { attempts: number }).attempts])).toEqual([
        ['idrelay.notification.delivered', 2],
      ]);
    });

    it('retries with backoff when the transport throws, and loses nothing', async () => {
      s.transports.fcm.script = (_t, _m, call) => (call === 1 ? 'throw' : (undefined as never));
      const plan = await s.relay.ingest(locked());
      expect(plan.deliveries).toBe(1);
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      expect((await store.outbox.counts()).pending).toBe(1);
      // random() = 0.5 and base 1 s: the first retry waits 500 ms (full jitter over [0, 1000)).
      s.clock.advance(500);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel']);
    });

    it('dead-letters after max attempts in a 429 storm, with the reason, a receipt and an audit entry', async () => {
      s.transports.fcm.script = (t) => ({
        deviceId: t.deviceId,
        status: 'retry-after',
        code: 'ERR_FCM_RATE_LIMITED',
        reason: 'TOO_MANY_REQUESTS',
      });
      const { notifications } = await s.relay.ingest(locked());
      for (let i = 0; i < 5; i++) {
        await s.relay.drain();
        s.clock.advance(60_000);
      }
      const [delivery] = await store.outbox.listByEvent(`/test#d-${counter}`);
      expect(delivery).toMatchObject({ status: 'dead', attempts: 3, notificationId: notifications[0]!.notificationId });
      expect(delivery!.lastError?.reason).toContain('gave up after 3 attempts');
      expect(emitted.map((e) => (e.data as { outcome?: string }).outcome)).toEqual(['dead-letter']);
      const audit = await store.audit.list({ limit: 100 });
      expect(audit.filter((a) => a.action === 'delivery.dead-lettered')).toHaveLength(1);
    });

    it('fails a rejected delivery for good without retrying', async () => {
      s.transports.fcm.script = (t) => ({
        deviceId: t.deviceId,
        status: 'rejected',
        code: 'ERR_FCM_REJECTED',
        reason: 'INVALID_ARGUMENT',
      });
      await s.relay.ingest(locked());
      await s.relay.drain();
      s.clock.advance(3_600_000);
      expect((await s.relay.drain()).dispatched).toBe(0);
      expect(await store.outbox.counts()).toMatchObject({ failed: 1, pending: 0 });
    });

    it('defers a delivery to the end of quiet hours in the user time zone, then sends it', async () => {
      await s.relay.preferences.set('dave', {
        rules: [],
        quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' },
      });
      s.clock.set(Date.parse('2026-11-23T22:30:00Z')); // 23:30 in Berlin
      const plan = await s.relay.ingest(
        createEvent('idrelay.policy.changed', { policy: { id: 'p', name: 'P' } }, { source: '/test', id: 'quiet-1' }),
      );
      expect(plan.deliveries).toBe(0); // no default rule for policy.changed
      const announcement = createEvent(
        'idrelay.announcement.published',
        { announcementId: 'a', title: 'Maintenance', body: 'b', audience: { kind: 'users', userIds: ['dave'] } },
        { source: '/test', id: 'quiet-2' },
      );
      const planned = await s.relay.ingest(announcement);
      expect(planned).toMatchObject({ deliveries: 1, deferred: 1 });
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      s.clock.set(Date.parse('2026-11-24T05:59:59Z'));
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      s.clock.set(Date.parse('2026-11-24T06:00:00Z')); // 07:00 in Berlin
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel']);
    });

    it('suppresses an opted-out category but never a critical one', async () => {
      await s.relay.preferences.set('dave', {
        rules: [
          { category: 'account', channel: 'fcm', enabled: false },
          { category: 'security-alert', channel: '*', enabled: false },
        ],
      });
      expect((await s.relay.ingest(locked())).suppressed).toBe(1);
      const risk = createEvent(
        'idrelay.auth.risk.detected',
        { userId: 'dave', level: 'high', reasons: ['failed-logins'] },
        { source: '/test' },
      );
      await s.relay.ingest(risk);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel', 'erin-pixel', 'frank-browser']);
    });
    it('does not resend when recording receipts fails after the send', async () => {
      const append = store.audit.append.bind(store.audit);
      let failOnce = true;
      store.audit.append = async (entries) => {
        if (failOnce && entries.some((e) => e.action === 'delivery.delivered')) {
          failOnce = false;
          throw new Error('audit unavailable');
        }
        return append(entries);
      };
      await s.relay.ingest(locked());
      await s.relay.drain();
      s.clock.advance(3_600_000);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel']);
      expect(await store.outbox.counts()).toMatchObject({ delivered: 1, pending: 0 });
    });
  });
}
