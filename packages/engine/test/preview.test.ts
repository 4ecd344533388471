/**
 * `relay.preview` explains, per recipient and device, which rule matched, what preferences and quiet hours did and
 * what would be sent — and writes nothing.
 */
import type { Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario } from './support/scenario.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`preview on ${driver.name}`, () => {
    let store: Store;
    let s: Scenario;
    beforeEach(async () => {
      store = await driver.create();
      s = await createScenario(store);
    });
    afterEach(async () => {
      await s.relay.close();
      await store.close();
      await driver.cleanup(store);
    });

    it('explains rules, preferences, quiet hours and the rendered message per device, writing nothing', async () => {
      await s.relay.preferences.set('alice', {
        rules: [{ category: 'announcement', channel: 'webpush', enabled: false }],
        quietHours: { start: '12:00', end: '14:00', timeZone: 'Europe/Zurich' }, // T0 is 13:00 in Zurich
      });
      const auditBefore = (await store.audit.head())?.seq;
      const event = createEvent(
        'idrelay.announcement.published',
        {
          announcementId: 'a-1',
          title: 'Badge renewal',
          body: 'b',
          audience: { kind: 'users', userIds: ['alice', 'bob'] },
        },
        { source: '/test', id: 'p-1' },
      );
      const preview = await s.relay.preview(event);
      expect(preview.rules).toContainEqual({
        ruleId: 'announcement-to-audience',
        matched: true,
        reason: 'type matched',
      });
      const [notification] = preview.notifications;
      expect(notification).toMatchObject({
        ruleId: 'announcement-to-audience',
        category: 'announcement',
        critical: false,
        truncated: false,
      });
      const alice = notification!.recipients.find((r) => r.userId === 'alice')!;
      expect(alice).toMatchObject({ locale: 'de-CH', timeZone: 'Europe/Zurich' });
      const browser = alice.devices.find((d) => d.deviceId === 'alice-browser')!;
      expect(browser).toMatchObject({ action: 'suppress', reason: 'opted out (announcement/webpush)' });
      expect(browser.message).toBeUndefined();
      const phone = alice.devices.find((d) => d.deviceId === 'alice-iphone')!;
      expect(phone).toMatchObject({
        action: 'defer',
        reason: 'quiet hours 12:00–14:00 Europe/Zurich',
        dueAt: Date.parse('2026-11-23T13:00:00Z'),
      });
      expect(phone.message).toMatchObject({ title: 'Badge renewal', collapseId: 'announcement:a-1' });
      const bob = notification!.recipients.find((r) => r.userId === 'bob')!;
      expect(bob.devices).toMatchObject([
        { deviceId: 'bob-pixel', action: 'send', reason: 'no preferences: defaults apply' },
      ]);

      expect(preview.alreadyIngested).toBe(false);
      expect(await store.events.get(preview.eventKey)).toBeUndefined();
      expect(await store.outbox.counts()).toMatchObject({ pending: 0, delivered: 0 });
      expect((await store.audit.head())?.seq).toBe(auditBefore);
      await s.relay.drain();
      expect(s.received()).toEqual([]);
    });

    it('shows rules that did not match, and why', async () => {
      const event = createEvent(
        'idrelay.access.requested',
        { requestId: 'r', requester: { id: 'alice' }, resource: { id: 'app-erp', name: 'ERP' }, approvers: ['bob'] },
        { source: '/test', id: 'p-2' },
      );
      const preview = await s.relay.preview(event);
      expect(preview.rules).toEqual([
        { ruleId: 'access-request-named-approvers', matched: true, reason: 'type matched; data.approvers exists' },
        {
          ruleId: 'access-request-resource-approvers',
          matched: false,
          reason: 'condition failed: data.approvers is absent',
        },
      ]);
      expect(preview.notifications[0]!.recipients[0]!.devices[0]).toMatchObject({
        action: 'send',
        message: { title: 'Access request waiting', body: 'Someone needs access to ERP. Open the app to review.' },
      });
    });

    it('says a critical verification overrides quiet hours, and caps long audiences at the limit', async () => {
      await s.relay.preferences.set('alice', {
        rules: [],
        quietHours: { start: '00:00', end: '23:59', timeZone: 'UTC' },
      });
      const verify = createEvent(
        'idrelay.auth.verification.requested',
        { verificationId: 'v', userId: 'alice', application: { id: 'erp' }, expiresAt: '2026-11-23T12:05:00Z' },
        { source: '/test' },
      );
      const preview = await s.relay.preview(verify);
      expect(preview.notifications[0]!.recipients[0]!.devices[0]!.reason).toBe(
        'quiet hours 00:00–23:59 UTC, overridden: the category is critical',
      );
      const all = createEvent(
        'idrelay.announcement.published',
        { announcementId: 'x', title: 't', body: 'b', audience: { kind: 'group', groupId: 'all' } },
        { source: '/test' },
      );
      const capped = await s.relay.preview(all, { limit: 3 });
      expect(capped.notifications[0]!.recipients).toHaveLength(3);
      expect(capped.notifications[0]!.truncated).toBe(true);
    });
  });
}
