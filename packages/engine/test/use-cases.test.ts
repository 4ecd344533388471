/**
 * Every use case of the event catalogue, end to end through the default rules and templates: who receives what,
 * on which devices — on SQLite, on PostgreSQL and on the in-memory store.
 */
import type { EventDataInputMap, EventType, Store } from '@idrelay/core';
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
function event<T extends EventType>(type: T, data: EventDataInputMap[T], extra: Record<string, unknown> = {}) {
  return createEvent(type, data, {
    source: 'https://iam.example.com',
    id: `e-${++counter}`,
    time: new Date(T0).toISOString(),
    ...extra,
  });
}

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`use cases on ${driver.name}`, () => {
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

    async function deliver(input: unknown): Promise<string[]> {
      s.reset();
      await s.relay.ingest(input);
      await s.relay.drain();
      return s.received();
    }

    it('access.requested reaches the named approvers with decide actions and no justification on the lock screen', async () => {
      const e = event('idrelay.access.requested', {
        requestId: 'req-1',
        requester: { id: 'alice', displayName: 'Alice Example' },
        resource: { id: 'app-erp', name: 'ERP' },
        justification: 'quarter close, salary data',
        approvers: ['bob'],
      });
      expect(await deliver(e)).toEqual(['bob-pixel']);
      const { message } = s.transports.fcm.sent[0]!;
      expect(message.body).toContain('ERP');
      expect(JSON.stringify(message)).not.toContain('salary');
      expect(JSON.stringify(message)).not.toContain('Alice Example');
      expect(message.actions?.map((a) => a.id)).toEqual(['approve', 'deny']);
      expect(message.collapseId).toBe('access:req-1');
      expect(message.platform?.fcm?.channelId).toBe('approvals');
    });

    it("access.requested without named approvers reaches the directory's approvers of the resource", async () => {
      const e = event('idrelay.access.requested', {
        requestId: 'req-2',
        requester: { id: 'dave' },
        resource: { id: 'app-erp' },
      });
      expect(await deliver(e)).toEqual(['bob-pixel']);
    });

    it('access decisions reach the requester, found by data or by subject identifier', async () => {
      const approved = event('idrelay.access.approved', {
        requestId: 'req-1',
        approver: { id: 'bob' },
        decidedAt: new Date(T0).toISOString(),
        requester: { id: 'alice' },
      } as never);
      expect(await deliver(approved)).toEqual(['alice-browser', 'alice-iphone']);
      const denied = event(
        'idrelay.access.denied',
        { requestId: 'req-3', approver: { id: 'bob' }, decidedAt: new Date(T0).toISOString() },
        { idrelaysubject: { format: 'email', email: 'Alice@Example.com' } },
      );
      expect(await deliver(denied)).toEqual(['alice-browser', 'alice-iphone']);
      const expired = event(
        'idrelay.access.expired',
        { requestId: 'req-4', expiredAt: new Date(T0).toISOString(), reason: 'timeout' },
        { idrelaysubject: { format: 'email', email: 'alice@example.com' } },
      );
      expect(await deliver(expired)).toEqual(['alice-browser', 'alice-iphone']);
    });

    it('access.reminder reaches the approvers it names', async () => {
      const e = event('idrelay.access.reminder', { requestId: 'req-1', approvers: ['bob', 'carol'], reminder: 2 });
      expect(await deliver(e)).toEqual(['bob-pixel', 'carol-iphone']);
    });

    it('auth.verification.requested is critical: it reaches the user through opt-outs and quiet hours, first, without the code', async () => {
      await s.relay.preferences.set('alice', {
        rules: [{ category: '*', channel: '*', enabled: false }],
        quietHours: { start: '00:00', end: '23:59', timeZone: 'Europe/Zurich' },
      });
      await s.relay.ingest(
        event('idrelay.announcement.published', {
          announcementId: 'a-1',
          title: 'Hello',
          body: 'b',
          audience: { kind: 'users', userIds: ['alice'] },
        }),
      );
      const e = event('idrelay.auth.verification.requested', {
        verificationId: 'v-1',
        userId: 'alice',
        application: { id: 'erp', name: 'ERP' },
        numberMatch: { code: '42' },
        expiresAt: new Date(T0 + 120_000).toISOString(),
      });
      expect(await deliver(e)).toEqual(['alice-browser', 'alice-iphone']);
      const { message } = s.transports.apns.sent[0]!;
      expect(message.interruptionLevel).toBe('time-sensitive');
      expect(message.category).toBe('IDRELAY_VERIFY');
      expect(message.title).toBe('Confirm your sign-in');
      expect(JSON.stringify(message)).not.toContain('"42"');
      expect(message.actions?.map((a) => a.id)).toEqual(['approve', 'deny', 'report']);
    });

    it('a reported denial alerts the security team (nested group); an unreported one alerts nobody', async () => {
      const base = { verificationId: 'v-1', userId: 'alice', decidedAt: new Date(T0).toISOString() };
      expect(
        await deliver(event('idrelay.auth.verification.denied', { ...base, reported: true, reason: 'not-me' })),
      ).toEqual(['erin-pixel', 'frank-browser']);
      expect(await deliver(event('idrelay.auth.verification.denied', { ...base, reported: false }))).toEqual([]);
    });

    it('auth.risk.detected reaches the security team, and the user when the risk is medium or high', async () => {
      const high = event('idrelay.auth.risk.detected', { userId: 'dave', level: 'high', reasons: ['new-region'] });
      expect(await deliver(high)).toEqual(['dave-pixel', 'erin-pixel', 'frank-browser']);
      const low = event('idrelay.auth.risk.detected', { userId: 'dave', level: 'low', reasons: ['new-device'] });
      expect(await deliver(low)).toEqual(['erin-pixel', 'frank-browser']);
    });

    it('privilege.* reaches the security team; assignments also reach the user', async () => {
      const privilege = { id: 'prod-admin', name: 'Production admin', kind: 'role' as const };
      expect(await deliver(event('idrelay.privilege.assigned', { userId: 'dave', privilege }))).toEqual([
        'dave-pixel',
        'erin-pixel',
        'frank-browser',
      ]);
      const used = event('idrelay.privilege.used', {
        userId: 'dave',
        privilege,
        action: 'restart',
        usedAt: new Date(T0).toISOString(),
      });
      expect(await deliver(used)).toEqual(['erin-pixel', 'frank-browser']);
    });

    it('account.* events reach the user', async () => {
      expect(await deliver(event('idrelay.account.locked', { userId: 'dave', reason: 'failed-logins' }))).toEqual([
        'dave-pixel',
      ]);
      const expiring = event('idrelay.account.password.expiring', {
        userId: 'dave',
        expiresAt: new Date(T0).toISOString(),
        daysLeft: 3,
      });
      expect(await deliver(expiring)).toEqual(['dave-pixel']);
      expect(s.transports.fcm.sent[0]!.message.body).toBe('Your password expires in 3 days.');
    });

    it('group membership reaches the user and their manager; privileged groups also the security team', async () => {
      expect(
        await deliver(
          event('idrelay.group.member.added', { groupId: 'g-1', groupName: 'Finance readers', userId: 'alice' }),
        ),
      ).toEqual(['alice-browser', 'alice-iphone', 'carol-iphone']);
      const privileged = event('idrelay.group.member.removed', { groupId: 'g-2', userId: 'dave', privileged: true });
      expect(await deliver(privileged)).toEqual(['carol-iphone', 'dave-pixel', 'erin-pixel', 'frank-browser']);
    });

    it('joiners reach their manager; activation reaches the new user', async () => {
      expect(
        await deliver(event('idrelay.user.created', { userId: 'nina', userName: 'nina', managerId: 'carol' })),
      ).toEqual(['carol-iphone']);
      expect(await deliver(event('idrelay.user.created', { userId: 'dave', userName: 'dave' }))).toEqual([
        'carol-iphone',
      ]);
      expect(await deliver(event('idrelay.user.activated', { userId: 'dave' }))).toEqual(['dave-pixel']);
    });

    it('policy.action-required and onboarding steps reach the user', async () => {
      const policy = event('idrelay.policy.action-required', {
        actionId: 'p-1',
        userId: 'dave',
        kind: 'recertification',
        policy: { id: 'pol', name: 'Access review' },
      });
      expect(await deliver(policy)).toEqual(['dave-pixel']);
      const step = event('idrelay.onboarding.step', {
        flowId: 'f-1',
        userId: 'dave',
        step: { id: 's-2', title: 'Enrol your phone', index: 1, total: 4 },
      });
      expect(await deliver(step)).toEqual(['dave-pixel']);
      expect(s.transports.fcm.sent[0]!.message).toMatchObject({
        body: 'Enrol your phone',
        collapseId: 'onboarding:f-1',
      });
    });

    it('announcements reach the audience they name, by attributes', async () => {
      const e = event('idrelay.announcement.published', {
        announcementId: 'a-2',
        title: 'Finance offsite',
        body: 'Details inside',
        audience: { kind: 'attributes', filter: { department: 'finance' } },
      });
      expect(await deliver(e)).toEqual(['alice-browser', 'alice-iphone', 'bob-pixel', 'carol-iphone']);
    });

    it('bursts of workflow and sync failures reach each admin once per window, with the count inside', async () => {
      s.reset();
      for (let i = 0; i < 3; i++) {
        await s.relay.ingest(
          event('idrelay.workflow.failed', {
            workflowId: `w-${i}`,
            workflowName: 'Joiner',
            error: { message: 'boom' },
          }),
        );
      }
      await s.relay.ingest(event('idrelay.sync.failed', { connector: 'ldap', error: { message: 'timeout' } }));
      await s.relay.drain();
      expect(s.received()).toEqual([]);
      s.clock.advance(5 * 60_000);
      await s.relay.drain();
      expect(s.received()).toEqual(['ivan-iphone', 'ivan-iphone', 'judy-pixel', 'judy-pixel']);
      const bodies = s.transports.apns.sent.map((x) => x.message.title).sort();
      expect(bodies).toEqual(['IAM operations: 1 failure(s)', 'IAM operations: 3 failure(s)']);
      s.clock.advance(5 * 60_000);
      await s.relay.drain();
      expect(s.received()).toHaveLength(4);
    });

    it('exstream reviews reach reviewers', async () => {
      const e = event('idrelay.exstream.content.submitted', {
        contentId: 'c-1',
        submittedBy: { id: 'dave' },
        reviewers: ['carol'],
      });
      expect(await deliver(e)).toEqual(['carol-iphone']);
      const approved = event('idrelay.exstream.content.approved', {
        contentId: 'c-1',
        approver: { id: 'carol' },
        submittedBy: { id: 'dave' },
      });
      expect(await deliver(approved)).toEqual(['dave-pixel']);
      expect(s.transports.fcm.sent[0]!.message).toMatchObject({
        title: 'Content approved',
        collapseId: 'exstream-review:c-1',
      });
    });

    it('Exstream designer activity and production runs are audited but notify nobody', async () => {
      const opened = event('idrelay.exstream.template.opened', {
        template: { id: 'tpl-1' },
        userId: 'dave',
        openedAt: new Date(T0).toISOString(),
      });
      expect(await deliver(opened)).toEqual([]);
      const run = event('idrelay.exstream.production.triggered', { jobId: 'j-1', triggeredBy: { id: 'dave' } });
      expect(await deliver(run)).toEqual([]);
      const audit = await store.audit.list({ limit: 1000 });
      expect(audit.filter((entry) => entry.action === 'event.ingested')).toHaveLength(2);
    });

    it('a changed policy reaches the audience it names, and nobody when it names none', async () => {
      const changed = event('idrelay.policy.changed', {
        policy: { id: 'aup', name: 'Acceptable use', version: '4' },
        audience: { kind: 'group', groupId: 'iam-admins' },
      });
      expect(await deliver(changed)).toEqual(['ivan-iphone', 'judy-pixel']);
      const quiet = event('idrelay.policy.changed', { policy: { id: 'aup', name: 'Acceptable use', version: '5' } });
      expect(await deliver(quiet)).toEqual([]);
    });

    it('a duplicate event (same source and id) is planned once and sent once', async () => {
      const e = event('idrelay.account.locked', { userId: 'dave', reason: 'administrator' });
      expect(await deliver(e)).toEqual(['dave-pixel']);
      const again = await s.relay.ingest(e);
      expect(again.duplicate).toBe(true);
      await s.relay.drain();
      expect(s.received()).toEqual(['dave-pixel']);
    });

    it('invalid events are refused with ERR_EVENT_INVALID and recorded, never dropped silently', async () => {
      await expect(
        s.relay.ingest({ specversion: '1.0', type: 'idrelay.account.locked', data: {} }),
      ).rejects.toMatchObject({
        code: 'ERR_EVENT_INVALID',
      });
      const rejected = await store.events.listRejected(10);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({ code: 'ERR_EVENT_INVALID' });
      expect(rejected[0]!.raw).toContain('idrelay.account.locked');
    });
  });
}
