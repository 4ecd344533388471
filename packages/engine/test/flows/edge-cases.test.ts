/**
 * The corners of the flow runtime under a manual clock: quorum N of M (a repeated approval counts once, a denial
 * after approvals ends it), an approver reached twice counted once, escalation with no manager, expiry racing a
 * decision (exactly one outcome), a definition version bump while a flow runs, one check timer per flow and none
 * left once it ends, and the withdrawal text by outcome.
 */
import type { FlowStore, Store, TimerRecord } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { accessApprovalFlow, defineFlow, type FlowDefinition, type NotifyStep } from '../../src/index.js';
import type { Scenario } from '../support/scenario.js';
import { actionable, flowScenario, pushes, recordingWriteBack, verified } from './support.js';

const HOUR = 3_600_000;
const decide = [
  { id: 'approve', title: 'Approve' },
  { id: 'deny', title: 'Deny', destructive: true },
];
const request = (over: Record<string, unknown> = {}) => ({
  requestId: 'req-1',
  requester: { id: 'alice' },
  resource: { id: 'app-erp', name: 'ERP' },
  ...over,
});

/** One notify step deciding on `approve`/`deny`, with the step options given. */
function approval(version: number, step: Partial<NotifyStep>): FlowDefinition {
  return defineFlow({
    kind: 'approval',
    version,
    steps: [
      {
        type: 'notify',
        id: 'approve',
        approvers: { kind: 'users', userIds: ['bob'] },
        template: 'idrelay.access.requested',
        category: 'access-request',
        actions: decide,
        on: { approve: { end: 'approved' }, deny: { end: 'denied' } },
        trace: true,
        ...step,
      } as NotifyStep,
    ],
  });
}

/** Every timer in the store: claimed to be read, then put back as it was (a claim ends when a timer is rescheduled). */
async function timersIn(store: Store): Promise<TimerRecord[]> {
  const claimed = await store.timers.claimDue(Number.MAX_SAFE_INTEGER / 2, 1000, 1);
  const timers = claimed.map(({ claimToken: _, leaseUntil: __, ...timer }) => timer);
  for (const timer of timers) await store.timers.schedule(timer);
  return timers;
}

describe('flow edge cases', () => {
  let store: Store;
  let s: Scenario;
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  async function setup(definitions: FlowDefinition[], over: Parameters<typeof flowScenario>[1] = {}) {
    store = createMemoryStore();
    const iam = recordingWriteBack('iam', [
      'idrelay.access.approved',
      'idrelay.access.denied',
      'idrelay.access.expired',
    ]);
    s = await flowScenario(store, { writeBacks: [iam.writeBack], flows: { definitions }, ...over });
    return iam;
  }

  describe('quorum', () => {
    it('2 of 3: the same approver approving twice counts once; the flow waits for a second approver', async () => {
      await setup([accessApprovalFlow()]);
      const flow = await s.relay.flows.start(
        'access-approval',
        'req-1',
        request({ approvers: ['bob', 'carol', 'dave'], quorum: 2 }),
      );
      await s.relay.drain();
      const bob = actionable(s).find((p) => p.deviceId === 'bob-pixel')!;
      expect(
        await s.relay.flows.handler.apply(verified(bob, 'bob', 'bob-pixel', 'approve', s.clock.now())),
      ).toMatchObject({ state: 'running' });
      expect(await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'approve' })).toMatchObject({
        status: 'rejected',
        code: 'ERR_FLOW_DECIDED',
      });
      expect(await s.relay.flows.get(flow.id)).toMatchObject({
        state: 'running',
        decisions: [expect.objectContaining({ userId: 'bob' })],
      });
      expect(await s.relay.flows.decide(flow.id, { userId: 'dave', decision: 'approve' })).toMatchObject({
        state: 'approved',
      });
    });

    it('2 of 3: a denial after one approval ends it denied; a later approval is refused', async () => {
      const iam = await setup([accessApprovalFlow()]);
      const flow = await s.relay.flows.start(
        'access-approval',
        'req-1',
        request({ approvers: ['bob', 'carol', 'dave'], quorum: 2 }),
      );
      await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'approve' });
      expect(await s.relay.flows.decide(flow.id, { userId: 'carol', decision: 'deny' })).toMatchObject({
        state: 'denied',
      });
      expect(await s.relay.flows.decide(flow.id, { userId: 'dave', decision: 'approve' })).toMatchObject({
        code: 'ERR_FLOW_DECIDED',
      });
      await s.relay.drain();
      expect(iam.received.map((e) => e.type)).toEqual(['idrelay.access.denied']);
    });

    it('a decision the step does not take is refused with ERR_FLOW_INPUT_INVALID and records nothing', async () => {
      await setup([accessApprovalFlow()]);
      const flow = await s.relay.flows.start('access-approval', 'req-1', request());
      expect(await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'maybe' })).toMatchObject({
        code: 'ERR_FLOW_INPUT_INVALID',
      });
      expect((await s.relay.flows.get(flow.id))?.decisions).toEqual([]);
    });

    it('"all": an approver reached through two audiences is one approver, notified once, counted once', async () => {
      await setup([
        approval(1, {
          approvers: {
            kind: 'any-of',
            audiences: [
              { kind: 'group', groupId: 'iam-admins' },
              { kind: 'users', userIds: ['ivan'] },
            ],
          },
          quorum: { of: 'all' },
        }),
      ]);
      const flow = await s.relay.flows.start('approval', 'k', {});
      await s.relay.drain();
      expect((await s.relay.flows.get(flow.id))?.approvers.sort()).toEqual(['ivan', 'judy']);
      expect(s.received()).toEqual(['ivan-iphone', 'judy-pixel']);
      await s.relay.flows.decide(flow.id, { userId: 'ivan', decision: 'approve' });
      expect(await s.relay.flows.decide(flow.id, { userId: 'judy', decision: 'approve' })).toMatchObject({
        state: 'approved',
      });
    });

    it('"all" with a user named twice needs that user once', async () => {
      await setup([
        approval(1, { approvers: { kind: 'users', userIds: ['bob', 'bob', 'carol'] }, quorum: { of: 'all' } }),
      ]);
      const flow = await s.relay.flows.start('approval', 'k', {});
      expect(flow.approvers).toEqual(['bob', 'carol']);
      await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'approve' });
      expect(await s.relay.flows.decide(flow.id, { userId: 'carol', decision: 'approve' })).toMatchObject({
        state: 'approved',
      });
    });
  });

  it('escalation with no manager adds nobody, pushes nothing, and the request still expires', async () => {
    const iam = await setup([approval(1, { escalate: { afterMs: HOUR }, expire: { afterMs: 2 * HOUR } })]);
    const flow = await s.relay.flows.start('approval', 'k', {});
    await s.relay.drain();
    s.reset();
    s.clock.advance(HOUR); // bob has no manager in the directory
    await s.relay.drain();
    expect(pushes(s)).toEqual([]);
    const escalated = await s.relay.flows.get(flow.id);
    expect(escalated).toMatchObject({ state: 'running', escalated: true, approvers: ['bob'] });
    expect(escalated?.trace.map((t) => t.message)).toContain('escalated to nobody');
    s.clock.advance(HOUR);
    await s.relay.drain();
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ state: 'expired', reason: 'timeout' });
    expect(iam.received).toEqual([]); // the definition emits no event
    // The stale push is replaced by the "closed" text: no decision ended it.
    expect(pushes(s).map((p) => [p.target.deviceId, p.message.title])).toEqual([['bob-pixel', 'Request closed']]);
  });

  it('expiry racing a decision: exactly one outcome, one event, one flow.ended', async () => {
    const outcomes = new Set<string>();
    for (const winner of ['first', 'second'] as const) {
      store = createMemoryStore();
      // Both changes read the flow at the same version before either writes; the gate lets `winner` (the first or
      // the second write to arrive) go first, so the other is computed again from what the winner stored.
      let waiting: { release(): void; done: Promise<unknown> } | undefined;
      let gate = false;
      const flows: FlowStore = Object.create(store.flows);
      flows.update = async (...args) => {
        if (!gate) return store.flows.update(...args);
        if (!waiting) {
          let release!: () => void;
          const turn = new Promise<void>((r) => (release = r));
          let finished!: (v: unknown) => void;
          waiting = { release, done: new Promise((r) => (finished = r)) };
          await turn;
          return store.flows.update(...args).finally(() => finished(undefined));
        }
        gate = false;
        if (winner === 'first') {
          waiting.release();
          await waiting.done;
          return store.flows.update(...args);
        }
        return store.flows.update(...args).finally(() => waiting!.release());
      };
      const gated = { ...store, flows, close: () => store.close() } as Store;
      const iam = recordingWriteBack('iam', ['idrelay.access.approved', 'idrelay.access.expired']);
      s = await flowScenario(gated, {
        writeBacks: [iam.writeBack],
        flows: { definitions: [accessApprovalFlow({ expireAfterMs: HOUR })] },
      });
      const flow = await s.relay.flows.start('access-approval', 'req-1', request());
      await s.relay.drain();
      const bob = actionable(s)[0]!;
      s.clock.advance(HOUR);
      gate = true;
      const answer = () => s.relay.flows.handler.apply(verified(bob, 'bob', 'bob-pixel', 'approve', s.clock.now()));
      const [verdict] = await Promise.all([answer(), s.relay.drain()]);
      await s.relay.drain();
      const ended = await s.relay.flows.get(flow.id);
      expect(['approved', 'expired']).toContain(ended?.state);
      expect(verdict.status === 'applied').toBe(ended?.state === 'approved');
      if (verdict.status === 'rejected') expect(verdict.code).toBe('ERR_FLOW_DECIDED');
      expect(iam.received.map((e) => e.type)).toEqual([`idrelay.access.${ended?.state}`]);
      const audit = await store.audit.list({ limit: 200 });
      expect(audit.filter((e) => e.action === 'flow.ended')).toHaveLength(1);
      expect(gate).toBe(false); // the race really happened: two writes met at the gate
      outcomes.add(String(ended?.state));
      await s.relay.close();
      await store.close();
    }
    expect(outcomes).toEqual(new Set(['approved', 'expired'])); // each side won once
    store = createMemoryStore();
    s = await flowScenario(store);
  });

  it('a version bump while a flow runs: the running flow keeps v1’s timers and text, new flows take v2', async () => {
    await setup([approval(1, { remind: { afterMs: HOUR, template: 'idrelay.access.reminder' } })]);
    const old = await s.relay.flows.start('approval', 'old', {});
    await s.relay.drain();
    s.relay.flows.register(approval(2, { approvers: { kind: 'users', userIds: ['carol'] } }));
    const fresh = await s.relay.flows.start('approval', 'new', {});
    await s.relay.drain();
    s.reset();
    s.clock.advance(HOUR);
    await s.relay.drain();
    // v1 reminds bob; v2 has no reminder, so carol hears nothing more.
    expect(pushes(s).map((p) => [p.target.deviceId, p.message.title])).toEqual([
      ['bob-pixel', 'Access request still waiting'],
    ]);
    expect(await s.relay.flows.get(fresh.id)).toMatchObject({
      definitionVersion: 2,
      approvers: ['carol'],
      reminders: 0,
    });
    expect(await s.relay.flows.get(old.id)).toMatchObject({ definitionVersion: 1, reminders: 1 });
    await s.relay.close();

    // A relay that no longer registers v1 refuses to drive the old flow instead of switching it to v2.
    s = await flowScenario(store, { flows: { definitions: [approval(2, {})] } });
    await expect(s.relay.flows.decide(old.id, { userId: 'bob', decision: 'approve' })).rejects.toMatchObject({
      code: 'ERR_FLOW_UNKNOWN',
    });
    expect(await s.relay.flows.get(old.id)).toMatchObject({ state: 'running', decisions: [] });
  });

  it('keeps one check timer per flow however many changes, and no timer once the flow ended', async () => {
    let answers = 3;
    store = createMemoryStore();
    s = await flowScenario(store, {
      flows: {
        definitions: [
          defineFlow({
            kind: 'checked',
            version: 1,
            steps: [
              { type: 'code', id: 'check', run: 'slow', statusCheckMs: 1000 },
              approval(1, { remind: { afterMs: HOUR, max: 3 }, expire: { afterMs: 10 * HOUR } }).steps[0]!,
            ],
          }),
        ],
        functions: { slow: () => (answers-- > 0 ? { pending: true } : {}) },
      },
    });
    const flow = await s.relay.flows.start('checked', 'k', {});
    for (let i = 0; i < 4; i++) {
      await s.relay.drain();
      const checks = (await timersIn(store)).filter((t) => t.kind === 'flow.check');
      expect(checks.map((t) => t.id)).toEqual([`flow-check:${flow.id}`]);
      s.clock.advance(1000);
    }
    await s.relay.drain();
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ step: 'approve', state: 'running' });
    s.clock.advance(HOUR);
    await s.relay.drain();
    expect((await timersIn(store)).filter((t) => t.kind === 'flow.check').length).toBeLessThanOrEqual(1);
    await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'approve' });
    expect(await timersIn(store)).toEqual([]);
    await s.relay.drain();
    expect(await store.timers.nextDueAt()).toBeUndefined();
  });

  it('withdraws with the step’s template; a key the relay lacks falls back to the default text', async () => {
    await setup([
      approval(1, { approvers: { kind: 'users', userIds: ['bob', 'carol'] }, withdrawTemplate: 'no-such-key' }),
    ]);
    const flow = await s.relay.flows.start('approval', 'k', {});
    await s.relay.drain();
    s.reset();
    await s.relay.flows.decide(flow.id, { userId: 'bob', decision: 'deny' });
    await s.relay.drain();
    const updates = pushes(s).map((p) => [p.target.deviceId, p.message.title, p.message.interruptionLevel]);
    expect(updates.sort()).toEqual([
      ['bob-pixel', 'Request decided', 'passive'],
      ['carol-iphone', 'Request decided', 'passive'],
    ]);
  });

  it('the access approval’s stale pushes say “closed” when it expires, naming the resource', async () => {
    await setup([accessApprovalFlow({ expireAfterMs: HOUR, remindAfterMs: 2 * HOUR, escalateAfterMs: 2 * HOUR })]);
    await s.relay.flows.start('access-approval', 'req-1', request({ approvers: ['bob', 'carol'] }));
    await s.relay.drain();
    s.reset();
    s.clock.advance(HOUR);
    await s.relay.drain();
    expect(new Set(pushes(s).map((p) => `${p.message.title}: ${p.message.body}`))).toEqual(
      new Set(['Access request closed: The request for ERP is no longer open.']),
    );
    expect(s.received()).toEqual(['bob-pixel', 'carol-iphone']);
  });
});
