/**
 * A flow that starts on an event replaces the rules that would push the same people: with `defaultRules()` and the
 * access approval flow together, each approver gets one push (the flow's), and the plan and the preview say why
 * the approver rules stayed silent. A custom flow replaces every rule by default, a list replaces only those, and
 * an input the flow refuses leaves the rules in.
 */
import type { Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { accessApprovalFlow, defineFlow, type FlowTrigger, requiredActionFlow } from '../../src/index.js';
import { type Scenario, T0 } from '../support/scenario.js';
import { actionable, flowScenario, pushes } from './support.js';

let seq = 0;
const event = (type: string, data: Record<string, unknown>) => ({
  specversion: '1.0' as const,
  id: `e-${++seq}`,
  source: 'https://iam.example.com',
  type,
  time: new Date(T0).toISOString(),
  data,
});
const requested = (over: Record<string, unknown> = {}) =>
  event('idrelay.access.requested', {
    requestId: 'req-1',
    requester: { id: 'alice' },
    resource: { id: 'app-erp', name: 'ERP' },
    ...over,
  });

/** A flow on `account.locked` asking the user to confirm; `replacesRules` as given. */
function lockedFlow(replacesRules?: FlowTrigger['replacesRules']) {
  return defineFlow({
    kind: 'locked-confirm',
    version: 1,
    validate: (input) => (typeof input.userId === 'string' ? [] : ['userId: expected a string']),
    startOn: {
      type: 'account.locked',
      key: (e) => String((e.data as { userId: string }).userId),
      ...(replacesRules !== undefined ? { replacesRules } : {}),
    },
    steps: [
      {
        type: 'notify',
        id: 'confirm',
        approvers: ({ input }) => ({ kind: 'users', userIds: [String(input.userId)] }),
        template: 'idrelay.account.locked',
        category: 'account',
        selfDecision: true,
        actions: [{ id: 'ok', title: 'OK' }],
        on: { ok: { end: 'confirmed' } },
      },
    ],
  });
}

describe('flows replace the rules of the event they start on', () => {
  let store: Store;
  let s: Scenario;
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  it('with defaultRules() and the access approval flow, each approver gets one push: the flow’s', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [accessApprovalFlow()] } });
    const result = await s.relay.ingest(requested({ approvers: ['bob', 'carol', 'dave'] }));
    await s.relay.drain();
    const flow = await s.relay.flows.find('access-approval', 'req-1');
    expect(s.received()).toEqual(['bob-pixel', 'carol-iphone', 'dave-pixel']);
    expect(actionable(s).map((p) => p.flowId)).toEqual([flow!.id, flow!.id, flow!.id]);
    // The rule trail says why the approver rule stayed silent, in the plan and in the preview alike.
    const reason =
      'replaced by flow "access-approval" v1, which starts on idrelay.access.requested and sends its own push';
    expect(result.rules).toContainEqual({ ruleId: 'access-request-named-approvers', matched: false, reason });
    const preview = await s.relay.preview(requested({ requestId: 'req-2' }));
    expect(preview.rules).toContainEqual({ ruleId: 'access-request-resource-approvers', matched: false, reason });
    expect(preview.notifications).toEqual([]);
  });

  it('the required action replaces its listed rule: the user gets the flow’s push only', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [requiredActionFlow()] } });
    await s.relay.ingest(
      event('idrelay.policy.action-required', {
        actionId: 'act-1',
        userId: 'dave',
        policy: { id: 'p-1', name: 'Recertify' },
        kind: 'recertification',
      }),
    );
    await s.relay.drain();
    // dave gets the flow's actionable push only; the default rule would have sent a second, plain one.
    expect(pushes(s).map((p) => [p.target.deviceId, p.message.actions?.map((a) => a.id)])).toEqual([
      ['dave-pixel', ['acknowledge']],
    ]);
  });

  it('a custom flow replaces every rule of its event by default; [] replaces none', async () => {
    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [lockedFlow()] } });
    await s.relay.ingest(event('idrelay.account.locked', { userId: 'dave', reason: 'failed-logins' }));
    await s.relay.drain();
    expect(pushes(s).map((p) => p.message.data?.flowId)).toEqual([expect.any(String)]);
    await s.relay.close();
    await store.close();

    store = createMemoryStore();
    s = await flowScenario(store, { flows: { definitions: [lockedFlow([])] } });
    await s.relay.ingest(event('idrelay.account.locked', { userId: 'dave', reason: 'failed-logins' }));
    await s.relay.drain();
    // The rule's push and the flow's: the definition asked to keep the rules.
    expect(
      pushes(s)
        .map((p) => p.message.data?.flowId !== undefined)
        .sort(),
    ).toEqual([false, true]);
  });

  it('an input the flow refuses starts no flow, leaves the rules in, and does not fail the ingest', async () => {
    store = createMemoryStore();
    const strict = defineFlow({
      ...lockedFlow(),
      validate: (input) => (input.reason === 'risk' ? [] : ['reason: only risk locks are confirmed']),
    });
    s = await flowScenario(store, { flows: { definitions: [strict] } });
    await s.relay.ingest(event('idrelay.account.locked', { userId: 'dave', reason: 'failed-logins' }));
    await s.relay.drain();
    expect(await s.relay.flows.find('locked-confirm', 'dave')).toBeUndefined();
    expect(pushes(s).map((p) => [p.target.deviceId, p.message.data?.flowId])).toEqual([['dave-pixel', undefined]]);
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.find((e) => e.action === 'flow.not-started')?.details).toMatchObject({
      kind: 'locked-confirm',
      code: 'ERR_FLOW_INPUT_INVALID',
    });
  });

  it('refuses a malformed replacesRules with ERR_FLOW_INVALID', () => {
    expect(() => lockedFlow([''] as never)).toThrow(expect.objectContaining({ code: 'ERR_FLOW_INVALID' }));
  });
});
