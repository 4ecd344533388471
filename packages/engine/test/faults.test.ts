/**
 * Faults that must neither take the relay down nor strand an event, on every driver: a store error mid fan-out,
 * one user's bad preference, colliding event keys, reused ids, hostile input, secrets in custom templates and
 * rules, and expiry.
 */
import { type IdentityEvent, IdrelayError, type Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRules, defineTemplate, type Rule } from '../src/index.js';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];

let counter = 0;
const next = () => `f-${++counter}`;
const verification = (code = '42', extra: Record<string, unknown> = {}) =>
  createEvent(
    'idrelay.auth.verification.requested',
    {
      verificationId: `v-${counter}`,
      userId: 'alice',
      application: { id: 'erp', name: 'ERP' },
      numberMatch: { code },
      expiresAt: new Date(T0 + 120_000).toISOString(),
      ...extra,
    },
    { source: '/idp', id: next(), time: new Date(T0).toISOString() },
  );
const announcement = (userIds: string[] | { groupId: string }) =>
  createEvent(
    'idrelay.announcement.published',
    {
      announcementId: next(),
      title: 'Maintenance',
      body: 'Tonight',
      audience: Array.isArray(userIds) ? { kind: 'users', userIds } : { kind: 'group', groupId: userIds.groupId },
    },
    { source: '/ops', id: next(), time: new Date(T0).toISOString() },
  );

/** Every string in a pushed message, flattened, to look for a leaked secret anywhere in it. */
const texts = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(texts) : [];

/** A store whose outbox fails on the n-th enqueue, as a full disk or a killed connection would. */
function failingEnqueue(store: Store, failOn: number): Store {
  let calls = 0;
  const outbox = Object.create(store.outbox) as Store['outbox'];
  outbox.enqueue = async (deliveries) => {
    calls++;
    if (calls === failOn) throw new IdrelayError('ERR_STORE_QUERY', 'database or disk is full');
    return store.outbox.enqueue(deliveries);
  };
  return Object.assign(Object.create(store) as Store, { outbox });
}

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`faults on ${driver.name}`, () => {
    let store: Store;
    let s: Scenario;
    beforeEach(async () => {
      store = await driver.create();
    });
    afterEach(async () => {
      await s?.relay.close();
      await store.close();
      await driver.cleanup(store);
    });

    it('a store error mid fan-out strands nothing: the retried ingest says resumed and fills the gap once', async () => {
      s = await createScenario(failingEnqueue(store, 2), { pageSize: 2 });
      const event = announcement({ groupId: 'all' });
      await expect(s.relay.ingest(event)).rejects.toMatchObject({ code: 'ERR_STORE_QUERY' });
      expect((await store.events.listUnplanned(10)).map((e) => e.event.id)).toEqual([event.id]);
      const retried = await s.relay.ingest(event);
      expect(retried).toMatchObject({ duplicate: false, resumed: true });
      await s.relay.drain();
      const everyone = [
        'alice-browser',
        'alice-iphone',
        'bob-pixel',
        'carol-iphone',
        'dave-pixel',
        'erin-pixel',
        'frank-browser',
        'ivan-iphone',
        'judy-pixel',
      ];
      expect(s.received()).toEqual(everyone);
      expect(await s.relay.ingest(event)).toMatchObject({ duplicate: true });
      expect(await store.events.listUnplanned(10)).toEqual([]);
    });

    it('a store error mid fan-out is repaired by the running relay without a retry', async () => {
      const timers: Array<{ at: number; run: () => void }> = [];
      s = await createScenario(failingEnqueue(store, 2), {
        pageSize: 2,
        sweepMs: 60_000,
        scheduler: {
          setTimeout: (run: () => void, ms: number) => {
            const timer = { at: s.clock.now() + ms, run };
            timers.push(timer);
            return timer;
          },
          clearTimeout: (timer: unknown) => {
            const i = timers.indexOf(timer as (typeof timers)[number]);
            if (i >= 0) timers.splice(i, 1);
          },
        },
      });
      await s.relay.start();
      await expect(s.relay.ingest(announcement({ groupId: 'all' }))).rejects.toMatchObject({ code: 'ERR_STORE_QUERY' });
      // What was enqueued goes out first: a minute later no batch is still in flight past its lease.
      await s.relay.drain();
      s.clock.advance(60_000);
      const sweep = timers.filter((t) => t.at <= s.clock.now());
      for (const t of sweep) t.run();
      await s.relay.drain();
      expect(s.received()).toHaveLength(9);
      expect(await store.events.listUnplanned(10)).toEqual([]);
    });

    it("one user's unreadable quiet hours never stop a verification, nor everyone else's announcement", async () => {
      s = await createScenario(store);
      // As a release before time zones were checked would have stored them.
      await store.preferences.put({
        userId: 'alice',
        rules: [],
        quietHours: { start: '00:00', end: '23:59', timeZone: 'Mars/Olympus_Mons' },
        updatedAt: T0,
      });
      await s.relay.ingest(verification());
      await s.relay.drain();
      expect(s.received()).toEqual(['alice-browser', 'alice-iphone']);
      s.reset();

      const result = await s.relay.ingest(announcement({ groupId: 'all' }));
      expect(result).toMatchObject({ failed: 1, failures: [expect.objectContaining({ userId: 'alice' })] });
      await s.relay.drain();
      expect(s.received()).toEqual([
        'bob-pixel',
        'carol-iphone',
        'dave-pixel',
        'erin-pixel',
        'frank-browser',
        'ivan-iphone',
        'judy-pixel',
      ]);
      const audit = await store.audit.list({ limit: 200 });
      expect(audit.filter((a) => a.action === 'plan.recipient-failed').map((a) => a.target)).toEqual(['alice']);
    });

    it('refuses unknown time zones where preferences enter: the API and preference.changed events', async () => {
      s = await createScenario(store);
      await expect(
        s.relay.preferences.set('dave', {
          rules: [],
          quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Atlantis' },
        }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      const changed = {
        specversion: '1.0',
        id: next(),
        source: '/ldap',
        type: 'idrelay.preference.changed',
        time: new Date(T0).toISOString(),
        datacontenttype: 'application/json',
        data: {
          userId: 'dave',
          changes: [],
          quietHours: { start: '22:00', end: '07:00', timeZone: 'Nowhere/Town' },
          origin: 'directory',
        },
      };
      await expect(s.relay.ingest(changed)).rejects.toMatchObject({ code: 'ERR_EVENT_INVALID' });
      expect(await store.preferences.get('dave')).toBeUndefined();
    });

    it('keeps events whose source and id differ only in where the # falls apart', async () => {
      s = await createScenario(store);
      const a = createEvent('idrelay.account.locked', { userId: 'dave', reason: 'risk' }, { source: '/a#b', id: 'c' });
      const b = createEvent('idrelay.account.locked', { userId: 'dave', reason: 'risk' }, { source: '/a', id: 'b#c' });
      expect((await s.relay.ingest(a)).duplicate).toBe(false);
      expect((await s.relay.ingest(b)).duplicate).toBe(false);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel', 'dave-pixel']);
    });

    it('records a reused id with a different payload as a conflict instead of dropping it silently', async () => {
      s = await createScenario(store);
      const first = createEvent(
        'idrelay.account.locked',
        { userId: 'dave', reason: 'risk' },
        { source: '/idp', id: 'same' },
      );
      const other = createEvent(
        'idrelay.account.locked',
        { userId: 'bob', reason: 'risk' },
        { source: '/idp', id: 'same' },
      );
      await s.relay.ingest(first);
      expect(await s.relay.ingest(first)).toMatchObject({ duplicate: true });
      expect(await s.relay.ingest(other)).toMatchObject({ duplicate: true, conflict: true, deliveries: 0 });
      const [rejected] = await store.events.listRejected(1);
      expect(rejected).toMatchObject({ code: 'ERR_EVENT_CONFLICT' });
      expect(rejected!.raw).toContain('"bob"');
      const audit = await store.audit.list({ limit: 50 });
      expect(audit.some((a) => a.action === 'event.rejected' && a.details?.code === 'ERR_EVENT_CONFLICT')).toBe(true);
    });

    it('refuses hostile input with ERR_EVENT_INVALID and records it, never a RangeError, a TypeError or a store error', async () => {
      s = await createScenario(store);
      let deep: unknown = 'x';
      for (let i = 0; i < 10_000; i++) deep = { d: deep };
      const circular: Record<string, unknown> = { ...verification() };
      circular.self = circular;
      const throwing = { ...verification() };
      Object.defineProperty(throwing, 'data', {
        enumerable: true,
        get: () => {
          throw new TypeError('nope');
        },
      });
      const inputs: unknown[] = [
        { ...announcement(['dave']), deep },
        { ...announcement(['dave']), id: 'nul\u0000id' },
        JSON.stringify({ ...announcement(['dave']), data: { ...announcement(['dave']).data, body: 'a\u0000b' } }),
        circular,
        throwing,
        { ...announcement(['dave']), padding: 'x'.repeat(300_000) },
        JSON.stringify({ ...announcement(['dave']), padding: 'x'.repeat(40 * 1024 * 1024) }),
      ];
      for (const input of inputs) {
        await expect(s.relay.ingest(input)).rejects.toMatchObject({ name: 'IdrelayError', code: 'ERR_EVENT_INVALID' });
      }
      const rejected = await store.events.listRejected(20);
      expect(rejected).toHaveLength(inputs.length);
      for (const r of rejected) {
        expect(r.raw).not.toContain('\u0000');
        expect(r.raw.length).toBeLessThanOrEqual(16_385);
      }
      expect(await s.relay.ingest(announcement(['dave']))).toMatchObject({ deliveries: 1 });
    });

    it('never puts a number-matching code into a push, whatever a custom template or rule writes', async () => {
      expect(() =>
        defineTemplate({
          key: 'idrelay.auth.verification.requested',
          fields: { code: { path: 'data.numberMatch.code' } },
          title: 'Sign in',
          data: { code: '{{code}}' },
        }),
      ).toThrow(expect.objectContaining({ code: 'ERR_TEMPLATE_UNSAFE' }));
      const leaky: Rule = {
        id: 'leaky',
        types: ['auth.verification.requested'],
        notify: {
          audience: { kind: 'users', userIds: ['$data.userId'] },
          category: 'verification',
          critical: true,
          template: 'leaky',
          collapseId: 'v-{{data.numberMatch.code}}-{{data.verificationId}}',
        },
      };
      const coded: Rule = {
        id: 'coded',
        types: ['auth.verification.requested'],
        evaluate: (event) => ({
          audience: { kind: 'users', userIds: ['carol'] },
          category: 'verification',
          critical: true,
          template: 'leaky',
          collapseId: `code-${(event.data as { numberMatch: { code: string } }).numberMatch.code}`,
        }),
      };
      s = await createScenario(store, {
        rules: [leaky, coded],
        templates: [
          {
            key: 'leaky',
            fields: {
              code: { path: 'data.numberMatch.code', lockScreenSafe: true, fallback: 'hidden' },
              app: { path: 'data.application.name', lockScreenSafe: true },
            },
            title: 'Your code is {{code}}',
            body: 'Sign in to {{app}} with {{code}}',
            data: { code: '{{code}}' },
          },
        ],
      });
      await s.relay.ingest(verification('917'));
      await s.relay.drain();
      const pushes = [...s.transports.apns.sent, ...s.transports.fcm.sent, ...s.transports.webpush.sent];
      expect(pushes.map((p) => p.target.deviceId).sort()).toEqual(['alice-browser', 'alice-iphone', 'carol-iphone']);
      for (const push of pushes) {
        expect(texts(push.message).join('|')).not.toContain('917');
        expect(push.message.title).toBe('Your code is hidden');
      }
    });

    it('never sends a delivery after its expiry: a retried verification settles expired, with a receipt and an audit', async () => {
      s = await createScenario(store, { retry: { maxAttempts: 10, baseMs: 60_000 } });
      const emitted: IdentityEvent[] = [];
      s.relay.subscribe((e) => void emitted.push(e));
      s.transports.apns.script = (t) => ({
        deviceId: t.deviceId,
        status: 'retry-after',
        code: 'ERR_TRANSPORT_TIMEOUT',
        retryAfterMs: 100_000,
      });
      s.transports.webpush.script = (t) => ({
        deviceId: t.deviceId,
        status: 'retry-after',
        code: 'ERR_TRANSPORT_TIMEOUT',
        retryAfterMs: 10_000,
      });
      await s.relay.ingest(verification());
      await s.relay.drain();
      s.transports.webpush.script = undefined;
      s.clock.advance(130_000);
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      expect(await store.outbox.counts()).toMatchObject({ expired: 2, pending: 0, claimed: 0 });
      expect(emitted.map((e) => (e.data as { outcome?: string }).outcome).sort()).toEqual(['expired', 'expired']);
      const audit = await store.audit.list({ limit: 100 });
      expect(audit.filter((a) => a.action === 'delivery.expired').length).toBeGreaterThanOrEqual(1);
    });

    it('hands the transport each delivery with its expiry', async () => {
      s = await createScenario(store);
      await s.relay.ingest(verification());
      await s.relay.drain();
      expect(s.transports.apns.sent[0]?.expiresAt).toBe(T0 + 120_000);
      expect(s.transports.apns.sent[0]?.priority).toBe('high');
    });
  });
}

describe('planning isolates a failing recipient among many', () => {
  it('plans a 1,000-user announcement for the 999 others and records the one', async () => {
    const users = Array.from({ length: 1_000 }, (_, i) => ({
      id: `u${i}`,
      attributes: {},
      ...(i === 500 ? { timeZone: 'Bad/Zone' } : {}),
    }));
    const store = createMemoryStore();
    const s = await createScenario(store, {
      directory: createMemoryDirectory({ users, groups: [{ id: 'everyone', members: users.map((u) => u.id) }] }),
      rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }),
    });
    for (const u of users)
      await s.relay.devices.register({
        userId: u.id,
        deviceId: `${u.id}-d`,
        platform: 'fcm',
        token: `token-${u.id}-xx`,
      });
    // Quiet hours without a zone of their own use the directory's, which is unreadable for this one user.
    await store.preferences.put({
      userId: 'u500',
      rules: [],
      quietHours: { start: '00:00', end: '23:59', timeZone: '' },
      updatedAt: T0,
    });
    const result = await s.relay.ingest(announcement({ groupId: 'everyone' }));
    expect(result).toMatchObject({ recipients: 1_000, deliveries: 999, failed: 1 });
    await s.relay.close();
  });
});
