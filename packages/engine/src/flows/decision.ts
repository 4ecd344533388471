import type { ErrorCode } from '@idrelay/core';
import { readPath } from '../shared/read-path.js';
import type { FlowScope, FlowStep, NotifyStep } from './definition.js';
import type { FlowData, FlowDecision } from './flow-state.js';
import { move } from './transitions.js';

/** Users who can never decide in a step (segregation of duties), read from the input. */
export function excludedBy(step: NotifyStep, input: Record<string, unknown>): Set<string> {
  if (step.selfDecision) return new Set();
  const paths = step.segregation ?? ['requester.id', 'author.id', 'requesterId', 'authorId'];
  const found = new Set<string>();
  for (const path of paths) {
    const value = readPath(input, path);
    if (typeof value === 'string' && value.length > 0) found.add(value);
  }
  return found;
}

/** The decision that counts toward a step's quorum. */
export const quorumDecision = (step: NotifyStep) => step.quorum?.decision ?? step.actions[0]!.id;

/** A decision a step took, or why it was refused (nothing changes then). */
export type DecisionResult =
  | { kind: 'refused'; code: ErrorCode; detail: string }
  | { kind: 'recorded'; data: FlowData }
  | { kind: 'moved'; state: string; data: FlowData };

/**
 * Applies one approver's decision to a running flow's data: segregation of duties, approver and step checks, one
 * decision per approver per step, then the quorum. Pure, so a conflicting concurrent update simply re-runs it.
 */
export function applyDecision(
  data: FlowData,
  step: FlowStep,
  decision: FlowDecision,
  notificationId: string | undefined,
  scope: FlowScope,
): DecisionResult {
  if (step.type !== 'notify') {
    return { kind: 'refused', code: 'ERR_FLOW_DECIDED', detail: `Step "${step.id}" takes no decisions` };
  }
  decision = { ...decision, step: step.id };
  if (excludedBy(step, data.input).has(decision.userId)) {
    return {
      kind: 'refused',
      code: 'ERR_FLOW_SOD',
      detail: `${decision.userId} requested or authored this request and can never decide on it`,
    };
  }
  if (notificationId !== undefined && !data.notifications.includes(notificationId)) {
    return { kind: 'refused', code: 'ERR_FLOW_DECIDED', detail: 'The push answered belongs to a step already decided' };
  }
  if (!data.approvers.includes(decision.userId)) {
    return {
      kind: 'refused',
      code: 'ERR_FLOW_NOT_APPROVER',
      detail: `${decision.userId} is not an approver of this step`,
    };
  }
  if (data.decisions.some((d) => d.step === step.id && d.userId === decision.userId)) {
    return { kind: 'refused', code: 'ERR_FLOW_DECIDED', detail: `${decision.userId} already decided on this step` };
  }
  const counted = quorumDecision(step);
  const transition = step.on[decision.decision] ?? (decision.decision === counted ? { end: counted } : undefined);
  if (!transition || !step.actions.some((a) => a.id === decision.decision)) {
    return {
      kind: 'refused',
      code: 'ERR_FLOW_INPUT_INVALID',
      detail: `"${decision.decision}" is not a decision of step "${step.id}"`,
    };
  }
  const recorded: FlowData = { ...data, decisions: [...data.decisions, decision] };
  if (decision.decision === counted) {
    const given = new Set(
      recorded.decisions.filter((d) => d.step === step.id && d.decision === counted).map((d) => d.userId),
    );
    const quorum = step.quorum?.of ?? 'any';
    const of = typeof quorum === 'function' ? quorum(scope) : quorum;
    const needed = of === 'any' ? 1 : of === 'all' ? recorded.approvers.length : Math.max(1, of.count);
    if (given.size < needed) return { kind: 'recorded', data: recorded };
  }
  const moved = move(recorded, transition, decision.at, undefined, decision.deviceId);
  return { kind: 'moved', state: moved.state, data: moved.data };
}
