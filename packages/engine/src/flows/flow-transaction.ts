import {
  type AuditEntryInput,
  type FlowRecord,
  type IdentityEvent,
  IdrelayError,
  isIdrelayError,
  type TimerRecord,
} from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { DEFAULT_STATUS_CHECK_MS, type FlowDefinition } from './definition.js';
import type { FlowKitBase } from './flow-runtime.js';
import { dataOf, type FlowData, RUNNING } from './flow-state.js';
import { maxTransitionsOf, move, stepOf, traced } from './transitions.js';

/** One change to a flow, computed from the stored flow (and computed again when another update came first). */
export interface FlowChange {
  state: string;
  data: FlowData;
  /** Transitions this change counts (default 1; bookkeeping counts 0). */
  transitions?: number;
  /** Audit entries appended once the change is stored. */
  audit?: readonly AuditEntryInput[];
  /** Durable timers scheduled before the change is stored (their handlers check the flow, so an orphan is a no-op). */
  timers?: readonly TimerRecord[];
  /** Set to a decision's verdict, carried through to the caller. */
  decision?: {
    userId: string;
    deviceId?: string;
    decision: string;
    at: number;
    comment?: string;
    notificationId?: string;
  };
}

/** Reads a flow, computes a change and stores it at the version read (see {@link createTransact}). */
export type Transact = <R>(
  flowId: string,
  compute: (flow: FlowRecord, definition: FlowDefinition) => FlowChange | { result: R } | undefined,
) => Promise<{ flow: FlowRecord; change?: FlowChange; result?: R }>;

const MAX_ATTEMPTS = 8;

/** The id of a flow's one safety-net check timer: rescheduled by each change that leaves work, never duplicated. */
export const checkTimerId = (flowId: string) => `flow-check:${flowId}`;

/**
 * The check timer a change needs, or none: work left for `settle()` (a step to start, pushes to withdraw) is looked
 * at again after the step's status-check interval, a pending code step at its `nextCheckAt`, whichever is sooner.
 * One id per flow, carrying `flowId`, so a rescheduled check replaces the last one and an ended flow cancels it.
 */
function checkTimerOf(
  flow: FlowRecord,
  definition: FlowDefinition,
  change: FlowChange,
  at: number,
): TimerRecord | undefined {
  const work = change.data.withdraw !== undefined || change.data.epoch !== dataOf(flow).epoch;
  const candidates: number[] = [];
  if (work) {
    const step = definition.steps.find((s) => s.id === change.data.step);
    candidates.push(at + (step?.statusCheckMs ?? DEFAULT_STATUS_CHECK_MS));
  }
  if (change.data.nextCheckAt !== undefined) candidates.push(change.data.nextCheckAt);
  if (candidates.length === 0) return undefined;
  return {
    id: checkTimerId(flow.id),
    kind: 'flow.check',
    dueAt: Math.min(...candidates),
    flowId: flow.id,
    payload: { flowId: flow.id },
  };
}

/** The events of an outcome, once: only the change that ends the flow emits them. */
function eventsFor(
  kit: FlowKitBase,
  flow: FlowRecord,
  definition: FlowDefinition,
  change: FlowChange,
  at: number,
): IdentityEvent[] {
  const outcome = change.data.outcome;
  if (change.state === RUNNING || outcome === undefined || dataOf(flow).outcome !== undefined) return [];
  const built = definition.events?.[outcome]?.({
    ...kit.scopeOf(flow),
    vars: change.data.vars,
    outcome,
    ...(change.data.reason ? { reason: change.data.reason } : {}),
    ...(change.decision ? { decision: change.decision } : {}),
    now: at,
  });
  if (!built) return [];
  return [
    createEvent(built.type, built.data as never, {
      source: kit.options.source,
      id: `flow-${flow.id}-${change.data.epoch}-${outcome}`,
      subject: flow.key,
      time: new Date(at),
    }),
  ];
}

/** A change that would leave the flow running at or past its step's maximum transitions terminates it instead. */
function capped(flow: FlowRecord, definition: FlowDefinition, change: FlowChange, at: number): FlowChange {
  const counted = change.transitions ?? 1;
  if (change.state !== RUNNING || counted === 0) return change;
  const transitions = flow.transitions + counted;
  const max = maxTransitionsOf(definition, change.data.step);
  if (transitions < max) return change;
  const ended = move(change.data, { end: 'terminated' }, at, 'max-transitions');
  return {
    ...change,
    state: ended.state,
    data: traced(ended.data, stepOf(definition, change.data.step), at, `terminated after ${transitions} transitions`),
    audit: [
      ...(change.audit ?? []),
      {
        at,
        action: 'flow.terminated',
        actor: 'system',
        target: flow.id,
        details: { kind: flow.kind, step: change.data.step, transitions, max, reason: 'max-transitions' },
      },
    ],
  };
}

function endedAudit(flow: FlowRecord, change: FlowChange, events: IdentityEvent[], at: number): AuditEntryInput[] {
  if (change.state === RUNNING || dataOf(flow).outcome !== undefined) return [];
  return [
    {
      at,
      action: 'flow.ended',
      actor: change.decision?.userId ?? 'system',
      target: flow.id,
      details: {
        kind: flow.kind,
        key: flow.key,
        outcome: change.data.outcome,
        ...(change.data.reason ? { reason: change.data.reason } : {}),
        events: events.map((e) => e.type),
      },
    },
  ];
}

/**
 * Every change to a flow goes through the returned function: it reads the flow, asks `compute` for a change and
 * stores it at the version read (`FlowStore.update` with the expected version); on `ERR_STORE_CONFLICT` it reads
 * again and recomputes, so of two racing changes each is computed from what the other left. The outcome's events
 * join the update's transaction (outgoing log), and the timers a change needs are scheduled before it is stored.
 *
 * @example
 * ```ts
 * const transact = createTransact(kit);
 * await transact(flowId, (flow) => (flow.state === 'running' ? { state: 'expired', data: … } : undefined));
 * ```
 */
export function createTransact(kit: FlowKitBase): Transact {
  const { flows } = kit.options;
  return async function transact(flowId, compute) {
    for (let attempt = 1; ; attempt++) {
      const flow = await flows.get(flowId);
      if (!flow) throw new IdrelayError('ERR_FLOW_NOT_FOUND', `No flow has the id ${flowId}`, { details: { flowId } });
      const definition = kit.definitionOf(flow);
      const computed = compute(flow, definition);
      if (computed === undefined) return { flow };
      if ('result' in computed) return { flow, result: computed.result };
      const at = kit.now();
      const change = capped(flow, definition, computed, at);
      const events = eventsFor(kit, flow, definition, change, at);
      const emit = events.flatMap((event) => kit.options.consumers.entriesFor(event, flow.key));
      const check = checkTimerOf(flow, definition, change, at);
      const timers = [...(change.timers ?? []), ...(check ? [check] : [])];
      for (const timer of timers) await kit.options.timers.schedule(timer);
      if (check) kit.checkScheduled(flow.id);
      try {
        const stored = await flows.update(
          flow.id,
          flow.version,
          {
            state: change.state,
            data: change.data,
            transitions: flow.transitions + (change.transitions ?? 1),
            updatedAt: at,
          },
          emit.length > 0 ? { emit } : {},
        );
        const audit = [...(change.audit ?? []), ...endedAudit(flow, change, events, at)];
        if (audit.length > 0) await kit.options.audit.append(audit);
        for (const timer of timers) kit.options.onTimer(timer.dueAt);
        if (emit.length > 0) kit.options.onEmitted(at);
        if (events.length > 0 && kit.options.listeners.active) kit.options.listeners.emit(events);
        return { flow: stored, change };
      } catch (error) {
        if (isIdrelayError(error, 'ERR_STORE_CONFLICT') && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  };
}
