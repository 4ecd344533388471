import type { ErrorCode } from '@idrelay/core';
import { readPath } from '../shared/read-path.js';
import {
  DEFAULT_MAX_TRANSITIONS,
  type FlowDefinition,
  type FlowScope,
  type FlowStep,
  type FlowTransition,
  type NotifyStep,
} from './definition.js';
import type { FlowData, FlowDecision } from './flow-state.js';

/** A step of a definition by id. */
export function stepOf(definition: FlowDefinition, id: string): FlowStep {
  const step = definition.steps.find((s) => s.id === id);
  if (!step) throw new Error(`step ${id} is not in ${definition.kind} v${definition.version}`);
  return step;
}

/** The first data of a new flow. */
export function initialData(definition: FlowDefinition, input: Record<string, unknown>, now: number): FlowData {
  return {
    input,
    vars: {},
    step: definition.steps[0]!.id,
    epoch: 1,
    entered: false,
    pushed: false,
    enteredAt: now,
    approvers: [],
    notifications: [],
    reminders: 0,
    escalated: false,
    decisions: [],
    trace: [],
  };
}

/** Adds a trace message when the step asked for them. */
export function traced(data: FlowData, step: FlowStep, at: number, message: string): FlowData {
  return step.trace ? { ...data, trace: [...data.trace, { at, step: step.id, message }] } : data;
}

/**
 * Moves to the next step or ends the flow; the step's pushes are marked for withdrawal (all of them when the
 * flow ends or moves on, except on the device that answered).
 */
export function move(
  data: FlowData,
  transition: FlowTransition,
  now: number,
  reason?: string,
  exceptDevice?: string,
): { state: string; data: FlowData } {
  const withdraw =
    data.notifications.length > 0
      ? { withdraw: { notifications: data.notifications, ...(exceptDevice ? { exceptDevice } : {}) } }
      : {};
  const base = { ...data, ...withdraw, epoch: data.epoch + 1, notifications: [] as string[] };
  if ('next' in transition) {
    return {
      state: 'running',
      data: {
        ...base,
        step: transition.next,
        entered: false,
        pushed: false,
        enteredAt: now,
        approvers: [],
        reminders: 0,
        escalated: false,
      },
    };
  }
  return {
    state: transition.end,
    data: { ...base, outcome: transition.end, endedAt: now, ...(reason ? { reason } : {}) },
  };
}

/** The transition after a step: the next one in the list, or the end with `completed`. */
export function nextAfter(definition: FlowDefinition, stepId: string): FlowTransition {
  const i = definition.steps.findIndex((s) => s.id === stepId);
  const next = definition.steps[i + 1];
  return next ? { next: next.id } : { end: 'completed' };
}

/** The maximum transitions while `stepId` is current. */
export const maxTransitionsOf = (definition: FlowDefinition, stepId: string) =>
  definition.steps.find((s) => s.id === stepId)?.maxTransitions ?? DEFAULT_MAX_TRANSITIONS;

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
