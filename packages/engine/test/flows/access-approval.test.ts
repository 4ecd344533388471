/**
 * Access approval (000-1 with reminders, 001-6) under a manual clock: who is asked, quorum, reminders, escalation
 * to managers, expiry, segregation of duties, and what reaches the IAM system's write-back.
 */
import type { Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { accessApprovalFlow } from '../../src/index.js';
import type { Scenario } from '../support/scenario.js';
import { actionable, flowScenario, pushes, recordingWriteBack, verified } from './support.js';

const HOUR = 3_600_000;
const request = (over: Record<string, unknown> = {}) => ({
  requestId: 'req-7',
  requester: { id: 'alice' },
  resource: { id: 'app-erp', name: 'ERP' },
  ...over,
});

describe('access approval flow', () => {
  let store: Store;
  let s: Scenario;
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  async function setup(options: Parameters<typeof accessApprovalFlow>[0] = {}) {
    store = createMemoryStore();
    const iam = recordingWriteBack('iam', [
      'idrelay.access.approved',
      'idrelay.access.denied',
      'idrelay.access.expired',
    ]);
    s = await flowScenario(store, {
      writeBacks: [iam.writeBack],
      flows: {
        definitions: [
          accessApprovalFlow({
            remindAfterMs: HOUR,
            remindEveryMs: HOUR,
            maxReminders: 2,
            escalateAfterMs: 4 * HOUR,
            expireAfterMs: 8 * HOUR,
            ...options,
          }),
        ],
      },
    });
    return iam;
  }

  it("asks the resource's approvers with an actionable push, and one approval grants the request", async () => {
    const iam = await setup();
    const flow = await s.relay.flows.start('access-approval', 'req-7', request());
    await s.relay.drain();
    expect(flow).toMatchObject({ state: 'running', step: 'approve', approvers: ['bob'], definitionVersion: 1 });
    const [push, ...others] = actionable(s);
    expect(others).toEqual([]);
    expect(push).toMatchObject({ deviceId: 'bob-pixel', actions: ['approve', 'deny'], flowId: flow.id });

    const verdict = await s.relay.flows.handler.apply(verified(push!, 'bob', 'bob-pixel', 'approve', s.clock.now()));
    expect(verdict).toEqual({ status: 'applied', flowId: flow.id, state: 'approved' });
    await s.relay.drain();
    expect(iam.received.map((e) => [e.type, e.data])).toEqual([
      [
        'idrelay.access.approved',
        {
          requestId: 'req-7',
          approver: { id: 'bob' },
          decidedAt: new Date(s.clock.now()).toISOString(),
          deviceId: 'bob-pixel',
        },
      ],
    ]);
    const after = await s.relay.flows.get(flow.id);
    expect(after).toMatchObject({ state: 'approved', outcome: 'approved' });
    expect(after?.decisions).toEqual([
      expect.objectContaining({
        step: 'approve',
        userId: 'bob',
        decision: 'approve',
        deviceId: 'bob-pixel',
        origin: 'device',
      }),
    ]);
    // A second answer to the same request is refused and changes nothing.
    const again = await s.relay.flows.handler.apply(verified(push!, 'bob', 'bob-pixel', 'deny', s.clock.now()));
    expect(again).toMatchObject({ status: 'rejected', code: 'ERR_FLOW_DECIDED' });
    expect((await s.relay.flows.get(flow.id))?.state).toBe('approved');
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.map((e) => e.action)).toEqual(
      expect.arrayContaining(['flow.started', 'flow.decided', 'flow.ended', 'flow.refused']),
    );
    expect(audit.find((e) => e.action === 'flow.decided')).toMatchObject({
      actor: 'bob',
      target: flow.id,
      details: { decision: 'approve', deviceId: 'bob-pixel', origin: 'device' },
    });
  });

  it('starting twice with one key keeps one flow and one push', async () => {
    await setup();
    const first = await s.relay.flows.start('access-approval', 'req-7', request());
    const second = await s.relay.flows.start('access-approval', 'req-7', request({ resource: { id: 'other' } }));
    await s.relay.drain();
    expect(second.id).toBe(first.id);
    expect(second.input).toEqual(first.input);
    expect(actionable(s)).toHaveLength(1);
  });

  it('needs N of M approvals when the request asks for a quorum, and one denial refuses it', async () => {
    const iam = await setup();
    const flow = await s.relay.flows.start(
      'access-approval',
      'req-7',
      request({ approvers: ['bob', 'carol', 'dave'], quorum: 2 }),
    );
    await s.relay.drain();
    const byDevice = new Map(actionable(s).map((p) => [p.deviceId, p]));
    expect([...byDevice.keys()].sort()).toEqual(['bob-pixel', 'carol-iphone', 'dave-pixel']);

    expect(
      await s.relay.flows.handler.apply(
        verified(byDevice.get('bob-pixel')!, 'bob', 'bob-pixel', 'approve', s.clock.now()),
      ),
    ).toMatchObject({
      status: 'applied',
      state: 'running',
    });
    await s.relay.drain();
    expect(iam.received).toEqual([]);
    expect(
      await s.relay.flows.handler.apply(
        verified(byDevice.get('carol-iphone')!, 'carol', 'carol-iphone', 'approve', s.clock.now()),
      ),
    ).toMatchObject({
      state: 'approved',
    });
    await s.relay.drain();
    expect(iam.received.map((e) => [e.type, (e.data as { approver: { id: string } }).approver.id])).toEqual([
      ['idrelay.access.approved', 'carol'],
    ]);
    expect((await s.relay.flows.get(flow.id))?.decisions.map((d) => d.userId)).toEqual(['bob', 'carol']);
  });

  it('with quorum "all" of three, a denial ends it at once', async () => {
    const iam = await setup();
    await s.relay.flows.start('access-approval', 'req-7', request({ approvers: ['bob', 'carol', 'dave'], quorum: 3 }));
    await s.relay.drain();
    const bob = actionable(s).find((p) => p.deviceId === 'bob-pixel')!;
    const dave = actionable(s).find((p) => p.deviceId === 'dave-pixel')!;
    await s.relay.flows.handler.apply(verified(bob, 'bob', 'bob-pixel', 'approve', s.clock.now()));
    expect(
      await s.relay.flows.handler.apply(verified(dave, 'dave', 'dave-pixel', 'deny', s.clock.now())),
    ).toMatchObject({ state: 'denied' });
    await s.relay.drain();
    expect(iam.received.map((e) => e.type)).toEqual(['idrelay.access.denied']);
  });

  it('never lets the requester approve their own request (segregation of duties)', async () => {
    const iam = await setup();
    // alice requests and is named as an approver: she is not asked, and her answer is refused.
    const flow = await s.relay.flows.start('access-approval', 'req-7', request({ approvers: ['alice', 'bob'] }));
    await s.relay.drain();
    expect(flow.approvers).toEqual(['bob']);
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['bob-pixel']);
    const bobPush = actionable(s)[0]!;
    const verdict = await s.relay.flows.handler.apply(
      verified(bobPush, 'alice', 'alice-iphone', 'approve', s.clock.now()),
    );
    expect(verdict).toMatchObject({ status: 'rejected', code: 'ERR_FLOW_SOD' });
    const api = await s.relay.flows.decide(flow.id, { userId: 'alice', decision: 'approve' });
    expect(api).toMatchObject({ status: 'rejected', code: 'ERR_FLOW_SOD' });
    const after = await s.relay.flows.get(flow.id);
    expect(after).toMatchObject({ state: 'running', decisions: [], transitions: flow.transitions });
    await s.relay.drain();
    expect(iam.received).toEqual([]);
    // Someone who was never asked is refused with their own code.
    expect(await s.relay.flows.decide(flow.id, { userId: 'erin', decision: 'approve' })).toMatchObject({
      code: 'ERR_FLOW_NOT_APPROVER',
    });
  });

  it('reminds the approvers who have not decided, escalates to their managers, then expires', async () => {
    const iam = await setup();
    const flow = await s.relay.flows.start(
      'access-approval',
      'req-7',
      request({ approvers: ['bob', 'dave'], quorum: 2 }),
    );
    await s.relay.drain();
    const dave = actionable(s).find((p) => p.deviceId === 'dave-pixel')!;
    await s.relay.flows.handler.apply(verified(dave, 'dave', 'dave-pixel', 'approve', s.clock.now()));
    s.reset();

    s.clock.advance(HOUR - 1);
    await s.relay.drain();
    expect(pushes(s)).toEqual([]);
    s.clock.advance(1);
    await s.relay.drain();
    // Only bob, who has not decided, is reminded; the reminder replaces the first push (same collapse id).
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['bob-pixel']);
    expect(pushes(s)[0]!.message.title).toBe('Access request still waiting');
    s.reset();
    s.clock.advance(HOUR);
    await s.relay.drain();
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['bob-pixel']);
    s.reset();
    s.clock.advance(HOUR); // max 2 reminders: the third hour brings none
    await s.relay.drain();
    expect(pushes(s)).toEqual([]);

    s.clock.advance(HOUR); // 4 h: escalation to bob's manager (bob has none) and… dave decided; nobody new
    await s.relay.drain();
    expect((await s.relay.flows.get(flow.id))?.escalated).toBe(true);
    s.clock.advance(4 * HOUR);
    await s.relay.drain();
    const ended = await s.relay.flows.get(flow.id);
    expect(ended).toMatchObject({ state: 'expired', reason: 'timeout', reminders: 2 });
    expect(iam.received.map((e) => [e.type, (e.data as { reason: string }).reason])).toEqual([
      ['idrelay.access.expired', 'timeout'],
    ]);
    expect(ended?.trace.map((t) => t.message)).toEqual(
      expect.arrayContaining(['reminder 1 to 1', 'reminder 2 to 1', 'deadline passed']),
    );
  });

  it('escalates to the manager of an approver who has not answered, who can then decide', async () => {
    const iam = await setup({ escalateAfterMs: 2 * HOUR, maxReminders: 0 });
    const flow = await s.relay.flows.start(
      'access-approval',
      'req-9',
      request({ requestId: 'req-9', requester: { id: 'bob' }, approvers: ['dave'] }),
    );
    await s.relay.drain();
    s.reset();
    s.clock.advance(2 * HOUR);
    await s.relay.drain();
    // dave's manager is carol.
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['carol-iphone']);
    expect((await s.relay.flows.get(flow.id))?.approvers).toEqual(['dave', 'carol']);
    const carol = actionable(s)[0]!;
    expect(
      await s.relay.flows.handler.apply(verified(carol, 'carol', 'carol-iphone', 'approve', s.clock.now())),
    ).toMatchObject({ state: 'approved' });
    await s.relay.drain();
    expect(iam.received.map((e) => (e.data as { approver: { id: string } }).approver.id)).toEqual(['carol']);
  });

  it('starts from an access.requested event and refuses a malformed input with its code', async () => {
    await setup();
    await expect(s.relay.flows.start('access-approval', 'req-x', { requestId: 'req-x' })).rejects.toMatchObject({
      code: 'ERR_FLOW_INPUT_INVALID',
    });
    await expect(s.relay.flows.start('nope', 'k', {})).rejects.toMatchObject({ code: 'ERR_FLOW_UNKNOWN' });
    await s.relay.ingest({
      specversion: '1.0',
      id: 'e-1',
      source: 'https://iam.example.com',
      type: 'idrelay.access.requested',
      time: new Date(s.clock.now()).toISOString(),
      data: request({ requestId: 'req-11' }),
    });
    await s.relay.drain();
    const flow = await s.relay.flows.find('access-approval', 'req-11');
    expect(flow).toMatchObject({ state: 'running', approvers: ['bob'] });
    expect(actionable(s).map((p) => [p.deviceId, p.flowId])).toEqual([['bob-pixel', flow!.id]]);
  });
});
