import { DEFAULT_MAX_TRANSITIONS, type FlowDefinition, type FlowStep, type FlowTransition } from './definition.js';
import type { FlowData } from './flow-state.js';

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
      ? {
          withdraw: {
            notifications: data.notifications,
            step: data.step,
            ...(exceptDevice ? { exceptDevice } : {}),
          },
        }
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
