/**
 * The flow runtime under a manual clock: code steps called by name (retried at their status-check interval),
 * termination after the maximum transitions, versions (a running flow keeps its own), withdrawal of the pushes
 * of a decided request, and definitions refused with their code.
 */
import type { Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { accessApprovalFlow, defineFlow, type FlowDefinition, type FlowFunction } from '../../src/index.js';
import type { Scenario } from '../support/scenario.js';
import { actionable, flowScenario, pushes, recordingWriteBack, verified } from './support.js';

const decide = [
  { id: 'approve', title: 'Approve' },
  { id: 'deny', title: 'Deny', destructive: true },
];

function checkedApproval(version: number, approvers: string[]): FlowDefinition {
  return defineFlow({
    kind: 'checked-approval',
    version,
    steps: [
      { type: 'code', id: 'check', run: 'risk-check', statusCheckMs: 10_000, maxTransitions: 4, trace: true },
      {
        type: 'notify',
        id: 'approve',
        approvers: { kind: 'users', userIds: approvers },
        template: 'idrelay.access.requested',
        category: 'access-request',
        actions: decide,
        on: { approve: { end: 'approved' }, deny: { end: 'denied' } },
      },
    ],
    events: {
      approved: (c) => ({
        type: 'idrelay.access.approved',
        data: { requestId: c.key, approver: { id: c.decision!.userId }, decidedAt: new Date(c.now).toISOString() },
      }),
    },
  });
}

describe('flow runtime', () => {
  let store: Store;
  let s: Scenario;
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  it('runs a code step by name, re-checks it at its interval while pending, and uses what it set', async () => {
    store = createMemoryStore();
    let answers: Array<'pending' | 'throw' | 'done'> = ['pending', 'throw', 'done'];
    const seen: unknown[] = [];
    const riskCheck: FlowFunction = (scope) => {
      seen.push(scope.input);
      const next = answers.shift();
      if (next === 'throw') throw new Error('risk engine down');
      if (next === 'pending') return { pending: true, trace: 'risk engine busy' };
      return { set: { risk: 'low' }, trace: 'risk low' };
    };
    s = await flowScenario(store, {
      flows: { definitions: [checkedApproval(1, ['bob'])], functions: { 'risk-check': riskCheck } },
    });
    const flow = await s.relay.flows.start('checked-approval', 'req-1', { requestId: 'req-1' });
    expect(flow).toMatchObject({ state: 'running', step: 'check' });
    await s.relay.drain();
    expect(seen).toHaveLength(1);
    s.clock.advance(9_999);
    await s.relay.drain();
    expect(seen).toHaveLength(1);
    s.clock.advance(1);
    await s.relay.drain();
    expect(seen).toHaveLength(2); // threw: tried again after another interval
    s.clock.advance(10_000);
    await s.relay.drain();
    expect(seen).toHaveLength(3);
    const after = await s.relay.flows.get(flow.id);
    expect(after).toMatchObject({ step: 'approve', vars: { risk: 'low' }, approvers: ['bob'] });
    expect(after?.trace.map((t) => t.message)).toEqual([
      'step started',
      'risk engine busy',
      'risk-check failed: risk engine down',
      'risk low',
    ]);
    expect(actionable(s).map((p) => p.deviceId)).toEqual(['bob-pixel']);
    answers = [];
  });

  it('terminates a flow that reaches its maximum transitions, with a reason', async () => {
    store = createMemoryStore();
    const iam = recordingWriteBack('iam', ['idrelay.access.expired']);
    s = await flowScenario(store, {
      writeBacks: [iam.writeBack],
      flows: {
        definitions: [
          defineFlow({
            ...checkedApproval(1, ['bob']),
            events: {
              terminated: (c) => ({
                type: 'idrelay.access.expired',
                data: { requestId: c.key, expiredAt: new Date(c.now).toISOString(), reason: 'max-transitions' },
              }),
            },
          }),
        ],
        functions: { 'risk-check': () => ({ pending: true }) },
      },
    });
    const flow = await s.relay.flows.start('checked-approval', 'req-2', {});
    for (let i = 0; i < 6; i++) {
      await s.relay.drain();
      s.clock.advance(10_000);
    }
    const ended = await s.relay.flows.get(flow.id);
    expect(ended).toMatchObject({ state: 'terminated', reason: 'max-transitions', transitions: 4 });
    expect(ended?.trace.at(-1)?.message).toBe('terminated after 4 transitions');
    expect(iam.received.map((e) => e.data)).toEqual([
      expect.objectContaining({ requestId: 'req-2', reason: 'max-transitions' }),
    ]);
    expect(pushes(s)).toEqual([]);
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.find((e) => e.action === 'flow.terminated')?.details).toMatchObject({ max: 4, transitions: 4 });
  });

  it('keeps a running flow on the version it started with; a new version applies to new flows only', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, {
      flows: {
        definitions: [checkedApproval(1, ['bob']), checkedApproval(2, ['carol'])].slice(0, 1),
        functions: { 'risk-check': () => ({}) },
      },
    });
    const old = await s.relay.flows.start('checked-approval', 'req-old', {});
    s.relay.flows.register(checkedApproval(2, ['carol']));
    const fresh = await s.relay.flows.start('checked-approval', 'req-new', {});
    await s.relay.drain();
    expect(old).toMatchObject({ definitionVersion: 1, approvers: ['bob'] });
    expect(fresh).toMatchObject({ definitionVersion: 2, approvers: ['carol'] });
    expect(() => s.relay.flows.register(checkedApproval(2, ['dave']))).toThrow(
      expect.objectContaining({ code: 'ERR_FLOW_INVALID' }),
    );
    // The old flow is decided under v1's rules.
    const bob = actionable(s).find((p) => p.flowId === old.id)!;
    expect(
      await s.relay.flows.handler.apply(verified(bob, 'bob', 'bob-pixel', 'approve', s.clock.now())),
    ).toMatchObject({
      state: 'approved',
    });
  });

  it('withdraws the other approvers’ pushes once the request is decided and revokes their tokens', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [accessApprovalFlow()] } });
    const flow = await s.relay.flows.start('access-approval', 'req-3', {
      requestId: 'req-3',
      requester: { id: 'dave' },
      resource: { id: 'app-erp' },
      approvers: ['alice', 'bob', 'carol'],
    });
    await s.relay.drain();
    const first = actionable(s);
    expect(first.map((p) => p.deviceId).sort()).toEqual(['alice-browser', 'alice-iphone', 'bob-pixel', 'carol-iphone']);
    const collapseId = first[0]!.collapseId!;
    expect(new Set(first.map((p) => p.collapseId))).toEqual(new Set([collapseId]));
    // An unused token of carol's push, as respond() would have minted it at dispatch.
    const carolPush = first.find((p) => p.deviceId === 'carol-iphone')!;
    await store.actionTokens.put({
      tokenHash: 'carol-token',
      notificationId: carolPush.notificationId,
      userId: 'carol',
      deviceId: 'carol-iphone',
      actions: ['approve', 'deny'],
      flowId: flow.id,
      expiresAt: s.clock.now() + 60_000,
      createdAt: s.clock.now(),
    });
    s.reset();

    const bob = first.find((p) => p.deviceId === 'bob-pixel')!;
    await s.relay.flows.handler.apply(verified(bob, 'bob', 'bob-pixel', 'deny', s.clock.now()));
    await s.relay.drain();
    const updates = pushes(s);
    expect(updates.map((p) => p.target.deviceId).sort()).toEqual(['alice-browser', 'alice-iphone', 'carol-iphone']);
    for (const update of updates) {
      expect(update.message).toMatchObject({
        collapseId,
        title: 'Access request decided',
        body: 'The request for a resource has been decided.',
        data: { type: 'idrelay.flow.decided' },
      });
      expect(update.message.actions).toBeUndefined();
    }
    expect(await store.actionTokens.consume('carol-token', s.clock.now())).toMatchObject({ status: 'revoked' });
    // carol's late answer is refused: the request was decided.
    expect(
      await s.relay.flows.handler.apply(verified(carolPush, 'carol', 'carol-iphone', 'approve', s.clock.now())),
    ).toMatchObject({
      code: 'ERR_FLOW_DECIDED',
    });
    const audit = await store.audit.list({ limit: 100 });
    // Tokens minted at dispatch are revoked too: at least carol's, checked above.
    const withdrawn = audit.find((e) => e.action === 'flow.withdrawn')?.details as { revoked: number; updates: number };
    expect(withdrawn.updates).toBe(3);
    expect(withdrawn.revoked).toBeGreaterThanOrEqual(1);
  });

  it('shows the proven device the request, and ends the flow failed when respond() fails it closed', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [accessApprovalFlow()] } });
    const input = { requestId: 'req-5', requester: { id: 'alice' }, resource: { id: 'app-erp', name: 'ERP' } };
    const flow = await s.relay.flows.start('access-approval', 'req-5', input);
    await s.relay.drain();
    const token = verified(actionable(s)[0]!, 'bob', 'bob-pixel', 'approve', s.clock.now()).token;
    expect(await s.relay.flows.handler.details?.(token)).toEqual({
      flowId: flow.id,
      kind: 'access-approval',
      key: 'req-5',
      state: 'running',
      step: 'approve',
      request: input,
    });
    await s.relay.flows.handler.failClosed?.(token, 'ERR_ACTION_ATTEMPTS_EXCEEDED');
    expect(await s.relay.flows.get(flow.id)).toMatchObject({ state: 'failed', reason: 'ERR_ACTION_ATTEMPTS_EXCEEDED' });
    expect(
      await s.relay.flows.handler.apply(verified(actionable(s)[0]!, 'bob', 'bob-pixel', 'approve', s.clock.now())),
    ).toMatchObject({
      code: 'ERR_FLOW_DECIDED',
    });
  });

  it('refuses malformed definitions with ERR_FLOW_INVALID and every problem listed', async () => {
    const bad = () =>
      defineFlow({
        kind: 'Bad Kind',
        version: 0,
        steps: [
          {
            type: 'notify',
            id: 'a',
            approvers: { kind: 'users', userIds: ['x'] },
            template: 't',
            category: 'c',
            actions: [],
            on: { yes: { next: 'zzz' } },
          },
        ],
      });
    expect(bad).toThrow(expect.objectContaining({ code: 'ERR_FLOW_INVALID' }));
    try {
      bad();
    } catch (error) {
      expect((error as { details: { issues: string[] } }).details.issues).toEqual([
        'kind: expected 1-64 characters of a-z, 0-9, ".", "_", "-"',
        'version: expected an integer ≥ 1',
        'steps[0].actions: expected at least one action',
        'steps[0].on.yes: not one of the actions',
        'steps[0].on.yes: step "zzz" does not exist',
      ]);
    }
    // A code step naming a function nobody registered is refused when the relay is created.
    store = createMemoryStore();
    await expect(flowScenario(store, { flows: { definitions: [checkedApproval(1, ['bob'])] } })).rejects.toMatchObject({
      code: 'ERR_FLOW_INVALID',
    });
    s = await flowScenario(store);
  });
});
