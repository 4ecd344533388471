/**
 * The shipped flow definitions, one scenario each: "was this you?" for a risky session (000-5), a required action
 * whose acknowledgement reaches the directory's write-back (000-4, 001-8), and an onboarding sequence that
 * advances as the user completes each step (000-6, 001-1). Access approval has its own file.
 */
import type { Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { onboardingFlow, requiredActionFlow, sessionConfirmationFlow } from '../../src/index.js';
import type { Scenario } from '../support/scenario.js';
import { actionable, flowScenario, pushes, recordingWriteBack, verified } from './support.js';

const DAY = 86_400_000;

describe('shipped flows', () => {
  let store: Store;
  let s: Scenario;
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  it('"was this you?": confirming acknowledges, reporting raises a high risk for the security team', async () => {
    store = createMemoryStore();
    const soc = recordingWriteBack('siem', ['idrelay.notification.acknowledged', 'idrelay.auth.risk.detected']);
    s = await flowScenario(store, { writeBacks: [soc.writeBack], flows: { definitions: [sessionConfirmationFlow()] } });
    const input = { userId: 'dave', level: 'medium', reasons: ['new-region'] };
    const confirmed = await s.relay.flows.start('session-confirmation', 'session-1', input);
    const reported = await s.relay.flows.start('session-confirmation', 'session-2', input);
    await s.relay.drain();
    const [first, second] = actionable(s);
    expect(first).toMatchObject({ deviceId: 'dave-pixel', actions: ['confirm', 'report'], flowId: confirmed.id });
    expect(pushes(s)[0]!.message.title).toBe('Security alert');

    // The user answers about themself: no segregation of duties applies.
    await s.relay.flows.handler.apply(verified(first!, 'dave', 'dave-pixel', 'confirm', s.clock.now()));
    await s.relay.flows.handler.apply(verified(second!, 'dave', 'dave-pixel', 'report', s.clock.now()));
    await s.relay.drain();
    expect(soc.received.map((e) => [e.type, e.data])).toEqual([
      [
        'idrelay.notification.acknowledged',
        expect.objectContaining({
          userId: 'dave',
          deviceId: 'dave-pixel',
          causedBy: 'session-1',
          notificationId: first!.notificationId,
        }),
      ],
      [
        'idrelay.auth.risk.detected',
        expect.objectContaining({
          userId: 'dave',
          level: 'high',
          reasons: ['denied-verification'],
          causedBy: 'session-2',
        }),
      ],
    ]);
    expect((await s.relay.flows.get(confirmed.id))?.state).toBe('confirmed');
    expect((await s.relay.flows.get(reported.id))?.state).toBe('reported');
    // Another user can never answer for dave.
    const third = await s.relay.flows.start('session-confirmation', 'session-3', input);
    expect(await s.relay.flows.decide(third.id, { userId: 'erin', decision: 'confirm' })).toMatchObject({
      code: 'ERR_FLOW_NOT_APPROVER',
    });
  });

  it('a required action is reminded daily and its acknowledgement reaches the directory write-back', async () => {
    store = createMemoryStore();
    const directory = recordingWriteBack('directory', ['idrelay.notification.acknowledged']);
    s = await flowScenario(store, {
      writeBacks: [directory.writeBack],
      flows: { definitions: [requiredActionFlow({ remindEveryMs: DAY, maxReminders: 3 })] },
    });
    await s.relay.ingest({
      specversion: '1.0',
      id: 'pa-1',
      source: 'https://iam.example.com',
      type: 'idrelay.policy.action-required',
      time: new Date(s.clock.now()).toISOString(),
      data: {
        actionId: 'recert-9',
        userId: 'bob',
        kind: 'recertification',
        policy: { id: 'p-1', name: 'Quarterly access review' },
        dueBy: new Date(s.clock.now() + 10 * DAY).toISOString(),
      },
    });
    await s.relay.drain();
    const flow = (await s.relay.flows.find('required-action', 'recert-9'))!;
    expect(actionable(s)).toEqual([expect.objectContaining({ deviceId: 'bob-pixel', actions: ['acknowledge'] })]);
    expect(pushes(s)[0]!.message.body).toBe('Quarterly access review needs your attention.');
    s.reset();
    s.clock.advance(DAY);
    await s.relay.drain();
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['bob-pixel']);
    const reminder = actionable(s)[0]!;
    await s.relay.flows.handler.apply(verified(reminder, 'bob', 'bob-pixel', 'acknowledge', s.clock.now()));
    await s.relay.drain();
    expect(directory.received.map((e) => [e.type, e.data])).toEqual([
      [
        'idrelay.notification.acknowledged',
        {
          notificationId: reminder.notificationId,
          userId: 'bob',
          deviceId: 'bob-pixel',
          acknowledgedAt: new Date(s.clock.now()).toISOString(),
          causedBy: 'recert-9',
        },
      ],
    ]);
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ state: 'acknowledged', reminders: 1 });
  });

  it('an unacknowledged required action ends overdue at its due date', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [requiredActionFlow({ maxReminders: 0 })] } });
    const flow = await s.relay.flows.start('required-action', 'a-2', {
      actionId: 'a-2',
      userId: 'bob',
      kind: 'policy-acceptance',
      policy: { id: 'p', name: 'Acceptable use' },
      dueBy: new Date(s.clock.now() + 2 * DAY).toISOString(),
    });
    s.clock.advance(2 * DAY);
    await s.relay.drain();
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ state: 'overdue', reason: 'timeout' });
  });

  it('onboarding advances one step at a time as the user completes each, from the device or the IAM system', async () => {
    store = createMemoryStore();
    const hr = recordingWriteBack('hr', ['idrelay.notification.acknowledged']);
    s = await flowScenario(store, {
      writeBacks: [hr.writeBack],
      flows: {
        definitions: [
          onboardingFlow({
            steps: [
              { id: 'password', title: 'Set your password', url: 'https://id.example.com/setup' },
              { id: 'sso', title: 'Enrol in single sign-on' },
              { id: 'policy', title: 'Accept the acceptable-use policy' },
            ],
          }),
        ],
      },
    });
    const flow = await s.relay.flows.start('onboarding', 'dave', { userId: 'dave' });
    await s.relay.drain();
    expect(pushes(s).map((p) => [p.message.body, p.message.url])).toEqual([
      ['Set your password', 'https://id.example.com/setup'],
    ]);
    await s.relay.flows.handler.apply(verified(actionable(s)[0]!, 'dave', 'dave-pixel', 'complete', s.clock.now()));
    s.reset();
    await s.relay.drain();
    // Step 2 is sent; step 1's push is not withdrawn on the phone that completed it.
    expect(pushes(s).map((p) => p.message.body)).toEqual(['Enrol in single sign-on']);
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ state: 'running', step: 'sso' });

    // The IAM system reports the SSO enrolment done.
    expect(await s.relay.flows.decide(flow.id, { userId: 'dave', decision: 'complete' })).toMatchObject({
      status: 'applied',
    });
    s.reset();
    await s.relay.drain();
    expect(pushes(s).map((p) => p.message.body)).toEqual([
      'This step is complete.',
      'Accept the acceptable-use policy',
    ]);
    await s.relay.flows.handler.apply(verified(actionable(s)[0]!, 'dave', 'dave-pixel', 'complete', s.clock.now()));
    await s.relay.drain();
    const done = await s.relay.flows.get(flow.id);
    expect(done).toMatchObject({ state: 'completed' });
    expect(done?.decisions.map((d) => [d.step, d.origin])).toEqual([
      ['password', 'device'],
      ['sso', 'api'],
      ['policy', 'device'],
    ]);
    expect(hr.received.map((e) => e.type)).toEqual(['idrelay.notification.acknowledged']);
  });
});
