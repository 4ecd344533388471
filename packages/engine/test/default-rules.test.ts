/**
 * The default rules that use-cases.test.ts leaves out, each through a relay with the default rules and templates:
 * who receives it, under which rule and category, how urgently, the text on the lock screen, and the deep link.
 */
import type { EventDataInputMap, EventType, PushMessage } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

let counter = 0;
function event<T extends EventType>(type: T, data: EventDataInputMap[T]) {
  return createEvent(type, data, {
    source: 'https://iam.example.com',
    id: `d-${++counter}`,
    time: new Date(T0).toISOString(),
  });
}

let s: Scenario;
beforeEach(async () => {
  s = await createScenario(createMemoryStore());
});
afterEach(async () => {
  await s.relay.close();
  await s.store.close();
});

/** What one device received, with the notification's rule and category from preview. */
interface Received {
  deviceId: string;
  message: PushMessage;
}

/** Previews, ingests and drains an event; returns the rules that notified (with category) and what each device got. */
async function deliver(input: ReturnType<typeof event>) {
  s.reset();
  const preview = await s.relay.preview(input);
  await s.relay.ingest(input);
  await s.relay.drain();
  const received: Received[] = [...s.transports.apns.sent, ...s.transports.fcm.sent, ...s.transports.webpush.sent]
    .map((p) => ({ deviceId: p.target.deviceId, message: p.message }))
    .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  const notifications = preview.notifications.map((n) => ({
    ruleId: n.ruleId,
    category: n.category,
    critical: n.critical,
    users: n.recipients.map((r) => r.userId).sort(),
  }));
  return { notifications, received, devices: received.map((r) => r.deviceId) };
}

const message = (result: Awaited<ReturnType<typeof deliver>>, deviceId: string) =>
  result.received.find((r) => r.deviceId === deviceId)?.message;

const privilege = { id: 'prod-admin', name: 'Production admin', kind: 'role' as const };

describe('default rules, one by one', () => {
  it('a leaver (user.deactivated) reaches their manager, with no name on the lock screen', async () => {
    const result = await deliver(event('idrelay.user.deactivated', { userId: 'dave', reason: 'resigned' }));
    expect(result.notifications).toEqual([
      { ruleId: 'leaver-to-manager', category: 'lifecycle', critical: false, users: ['carol'] },
    ]);
    expect(result.devices).toEqual(['carol-iphone']);
    expect(message(result, 'carol-iphone')).toMatchObject({
      title: 'An account was deactivated',
      body: 'A member of your team can no longer sign in.',
      urgency: 'normal',
      interruptionLevel: 'active',
    });
    expect(JSON.stringify(result.received)).not.toContain('resigned');
  });

  it('group.bulk-changed of a privileged group alerts the security team with the counts; another group nobody', async () => {
    const result = await deliver(
      event('idrelay.group.bulk-changed', {
        groupId: 'g-prod',
        groupName: 'Production admins',
        added: 3,
        removed: 1,
        privileged: true,
      }),
    );
    expect(result.notifications).toEqual([
      {
        ruleId: 'privileged-membership-to-security',
        category: 'security-alert',
        critical: true,
        users: ['erin', 'frank'],
      },
    ]);
    expect(result.devices).toEqual(['erin-pixel', 'frank-browser']);
    expect(message(result, 'erin-pixel')).toMatchObject({
      title: 'Group changed',
      body: 'Production admins: 3 added, 1 removed.',
      urgency: 'high',
      interruptionLevel: 'time-sensitive',
    });
    const plain = await deliver(event('idrelay.group.bulk-changed', { groupId: 'g-2', added: 40, removed: 0 }));
    expect(plain.notifications).toEqual([]);
    expect(plain.devices).toEqual([]);
  });

  it('privilege.elevated alerts the security team (critical) and tells the user (normal)', async () => {
    const until = new Date(T0 + 3_600_000).toISOString();
    const result = await deliver(event('idrelay.privilege.elevated', { userId: 'dave', privilege, until }));
    expect(result.notifications).toEqual([
      { ruleId: 'privilege-to-security', category: 'security-alert', critical: true, users: ['erin', 'frank'] },
      { ruleId: 'privilege-to-user', category: 'privilege', critical: false, users: ['dave'] },
    ]);
    expect(result.devices).toEqual(['dave-pixel', 'erin-pixel', 'frank-browser']);
    const text = { title: 'Privilege elevated', body: 'Production admin is active for a limited time.' };
    expect(message(result, 'dave-pixel')).toMatchObject({ ...text, urgency: 'normal', interruptionLevel: 'active' });
    expect(message(result, 'frank-browser')).toMatchObject({
      ...text,
      urgency: 'high',
      interruptionLevel: 'time-sensitive',
    });
  });

  it('privilege.revoked alerts the security team and tells the user', async () => {
    const result = await deliver(event('idrelay.privilege.revoked', { userId: 'dave', privilege, reason: 'audit' }));
    expect(result.notifications.map((n) => [n.ruleId, n.category, n.users])).toEqual([
      ['privilege-to-security', 'security-alert', ['erin', 'frank']],
      ['privilege-to-user', 'privilege', ['dave']],
    ]);
    expect(result.devices).toEqual(['dave-pixel', 'erin-pixel', 'frank-browser']);
    expect(message(result, 'dave-pixel')).toMatchObject({
      title: 'Privilege revoked',
      body: 'Production admin was revoked.',
    });
  });

  it('workflow.stalled and provisioning.failed reach the IAM admins once per window, digested per event type', async () => {
    s.reset();
    const stalled = event('idrelay.workflow.stalled', {
      workflowId: 'w-1',
      workflowName: 'Joiner',
      runId: 'run-7',
      stalledSince: new Date(T0 - 3_600_000).toISOString(),
    });
    const preview = await s.relay.preview(stalled);
    expect(preview.notifications).toMatchObject([
      { ruleId: 'operations-to-admins', category: 'operations', critical: false, digestWindowMs: 5 * 60_000 },
    ]);
    await s.relay.ingest(stalled);
    for (const operation of ['create', 'update'] as const) {
      await s.relay.ingest(
        event('idrelay.provisioning.failed', {
          target: { system: 'SAP' },
          userId: 'dave',
          operation,
          error: { message: 'account locked in target' },
        }),
      );
    }
    await s.relay.drain();
    expect(s.received()).toEqual([]);
    s.clock.advance(5 * 60_000);
    await s.relay.drain();
    expect(s.received()).toEqual(['ivan-iphone', 'ivan-iphone', 'judy-pixel', 'judy-pixel']);
    const texts = s.transports.fcm.sent.map((p) => `${p.message.title} | ${p.message.body}`).sort();
    expect(texts).toEqual([
      'IAM operations: 1 failure(s) | 1 failure(s) in the last 5 minutes, first: Workflow stalled.',
      'IAM operations: 2 failure(s) | 2 failure(s) in the last 5 minutes, first: Provisioning failed.',
    ]);
    expect(s.transports.fcm.sent.every((p) => p.message.platform?.fcm?.channelId === 'operations')).toBe(true);
  });

  it('account.disabled reaches the user, urgently', async () => {
    const result = await deliver(event('idrelay.account.disabled', { userId: 'dave', reason: 'contract ended' }));
    expect(result.notifications).toEqual([
      { ruleId: 'account-to-user', category: 'account', critical: false, users: ['dave'] },
    ]);
    expect(result.devices).toEqual(['dave-pixel']);
    expect(message(result, 'dave-pixel')).toMatchObject({ title: 'Your account was disabled', urgency: 'high' });
    expect(JSON.stringify(result.received)).not.toContain('contract ended');
  });

  it('account.password.reset-required reaches every device of the user with the reset page as deep link', async () => {
    const url = 'https://portal.example.com/password/change';
    const result = await deliver(
      event('idrelay.account.password.reset-required', { userId: 'alice', reason: 'compromise', url }),
    );
    expect(result.notifications).toEqual([
      { ruleId: 'account-to-user', category: 'account', critical: false, users: ['alice'] },
    ]);
    expect(result.devices).toEqual(['alice-browser', 'alice-iphone']);
    for (const deviceId of result.devices) {
      expect(message(result, deviceId)).toMatchObject({
        title: 'Password change required',
        body: 'Change your password at your next sign-in.',
        urgency: 'high',
        url,
      });
    }
    const unsafe = await deliver(
      event('idrelay.account.password.reset-required', { userId: 'alice', url: 'javascript:alert(1)' }),
    );
    expect(unsafe.devices).toEqual(['alice-browser', 'alice-iphone']);
    expect(unsafe.received.every((r) => r.message.url === undefined)).toBe(true);
  });

  it('policy.action-required (a recertification) carries its link to the user who must act', async () => {
    const url = 'https://iga.example.com/recertify/p-9';
    const result = await deliver(
      event('idrelay.policy.action-required', {
        actionId: 'p-9',
        userId: 'dave',
        kind: 'recertification',
        policy: { id: 'q4', name: 'Q4 access review' },
        url,
      }),
    );
    expect(result.devices).toEqual(['dave-pixel']);
    expect(message(result, 'dave-pixel')).toMatchObject({
      title: 'Action required',
      body: 'Q4 access review needs your attention.',
      collapseId: 'policy:p-9',
      urgency: 'high',
      url,
    });
  });

  it('exstream.access.granted and .revoked reach the user with the role', async () => {
    const granted = await deliver(event('idrelay.exstream.access.granted', { userId: 'dave', role: 'Designer' }));
    expect(granted.notifications).toEqual([
      { ruleId: 'exstream-access-to-user', category: 'privilege', critical: false, users: ['dave'] },
    ]);
    expect(granted.devices).toEqual(['dave-pixel']);
    expect(message(granted, 'dave-pixel')).toMatchObject({
      title: 'Exstream role granted',
      body: 'You now have the role Designer.',
      urgency: 'normal',
    });
    const revoked = await deliver(event('idrelay.exstream.access.revoked', { userId: 'dave', role: 'Designer' }));
    expect(revoked.devices).toEqual(['dave-pixel']);
    expect(message(revoked, 'dave-pixel')).toMatchObject({
      title: 'Exstream role revoked',
      body: 'The role Designer was removed.',
    });
  });

  it('exstream.content.rejected reaches the submitter, replacing the review push; without a submitter nobody', async () => {
    const result = await deliver(
      event('idrelay.exstream.content.rejected', {
        contentId: 'c-2',
        approver: { id: 'carol' },
        submittedBy: { id: 'dave' },
        reason: 'wrong logo',
      }),
    );
    expect(result.notifications).toEqual([
      { ruleId: 'exstream-decision-to-submitter', category: 'access-decision', critical: false, users: ['dave'] },
    ]);
    expect(result.devices).toEqual(['dave-pixel']);
    expect(message(result, 'dave-pixel')).toMatchObject({
      title: 'Content rejected',
      collapseId: 'exstream-review:c-2',
      urgency: 'normal',
    });
    expect(JSON.stringify(result.received)).not.toContain('wrong logo');
    const anonymous = await deliver(
      event('idrelay.exstream.content.rejected', { contentId: 'c-3', approver: { id: 'carol' } }),
    );
    expect(anonymous.devices).toEqual([]);
  });
});
