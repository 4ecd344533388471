import {
  type AuditStore,
  type Clock,
  type Directory,
  type FlowRecord,
  type FlowStore,
  IdrelayError,
  type Logger,
  type TimerRecord,
  type TimerStore,
} from '@idrelay/core';
import type { ConsumerRegistry } from '../outgoing/consumers.js';
import type { Listeners } from '../outgoing/listeners.js';
import { runCodeStep } from './code-step.js';
import type { FlowDefinition, FlowScope } from './definition.js';
import type { FlowPush } from './flow-push.js';
import { dataOf, RUNNING } from './flow-state.js';
import { createTransact, type Transact } from './flow-transaction.js';
import type { FlowRegistry } from './registry.js';
import { enterStep, pushFirst } from './step-start.js';
import { escalate, expire, remind } from './step-timers.js';
import { stepOf } from './transitions.js';
import { withdrawDecided } from './withdrawal.js';

export type { FlowChange } from './flow-transaction.js';

/** Timer kinds flows use; the relay's timer pump hands them to {@link FlowRuntime.onTimer}. */
export const FLOW_TIMERS = ['flow.check', 'flow.remind', 'flow.escalate', 'flow.expire'] as const;

/** What the runtime needs from the relay. */
export interface FlowRuntimeOptions {
  flows: FlowStore;
  timers: Pick<TimerStore, 'schedule' | 'cancelByFlow'>;
  audit: Pick<AuditStore, 'append'>;
  directory: Directory;
  registry: FlowRegistry;
  push: FlowPush;
  consumers: ConsumerRegistry;
  listeners: Listeners;
  clock: Clock;
  logger: Logger;
  /** CloudEvents `source` of emitted events. */
  source: string;
  /** A timer was scheduled for `dueAt`. */
  onTimer(dueAt: number): void;
  /** Outgoing entries were appended at `at`. */
  onEmitted(at: number): void;
}

/** What the runtime's parts (step start, step timers, code steps, withdrawal) share, before `transact`. */
export interface FlowKitBase {
  options: FlowRuntimeOptions;
  now(): number;
  /** The definition version the flow started with. @throws {IdrelayError} `ERR_FLOW_UNKNOWN` when it is gone. */
  definitionOf(flow: FlowRecord): FlowDefinition;
  /** What the definition's functions read of the flow. */
  scopeOf(flow: FlowRecord): FlowScope;
  /** The flow's check timer was (re)scheduled. */
  checkScheduled(flowId: string): void;
}

/** {@link FlowKitBase} with the one way to change a flow. */
export interface FlowKit extends FlowKitBase {
  transact: Transact;
}

/** Rounds of work one `settle()` does before leaving the rest to the flow's check timer. */
const MAX_SETTLE_ROUNDS = 50;

/**
 * The flow runtime: every change goes through `transact` (optimistic concurrency, retried on
 * `ERR_STORE_CONFLICT`, the maximum-transitions rule, events into the outgoing log in the same write), and
 * `settle` does what a stored change asks for next (withdraw, start a step, push, run a code step). Both are
 * idempotent, and one durable `flow.check` timer per flow is (re)scheduled with each change that leaves work, so
 * a process that dies between the two leaves it to the next one; an ended flow's timers are cancelled.
 *
 * @example
 * ```ts
 * const runtime = createFlowRuntime(options);
 * await runtime.settle(flowId);
 * ```
 */
export function createFlowRuntime(options: FlowRuntimeOptions) {
  const { flows, registry, clock, logger } = options;
  // Flows whose check timer is firing here, and whether it was rescheduled meanwhile.
  const firing = new Map<string, boolean>();

  const base: FlowKitBase = {
    options,
    now: () => clock.now(),
    definitionOf(flow) {
      const definition = registry.get(flow.kind, flow.definitionVersion);
      if (!definition) {
        throw new IdrelayError(
          'ERR_FLOW_UNKNOWN',
          `Flow ${flow.id} runs ${flow.kind} v${flow.definitionVersion}, which is not registered; keep old versions registered while their flows run`,
          { details: { flowId: flow.id, kind: flow.kind, version: flow.definitionVersion } },
        );
      }
      return definition;
    },
    scopeOf: (flow) => ({
      flowId: flow.id,
      kind: flow.kind,
      key: flow.key,
      input: dataOf(flow).input,
      vars: dataOf(flow).vars,
    }),
    checkScheduled(flowId) {
      if (firing.has(flowId)) firing.set(flowId, true);
    },
  };
  const kit: FlowKit = { ...base, transact: createTransact(base) };

  /**
   * Does what the stored flow asks for next, until nothing is left: withdraw a decided step's pushes, start the
   * current step, send its first push, run its code, cancel the timers of an ended flow. Idempotent.
   */
  async function settle(flowId: string): Promise<void> {
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      const flow = await flows.get(flowId);
      if (!flow) return;
      const definition = kit.definitionOf(flow);
      const data = dataOf(flow);
      if (data.withdraw) {
        await withdrawDecided(kit, flow);
        continue;
      }
      if (flow.state !== RUNNING) {
        await options.timers.cancelByFlow(flow.id);
        return;
      }
      const step = stepOf(definition, data.step);
      if (!data.entered) await enterStep(kit, flow, definition);
      else if (step.type === 'notify' && !data.pushed) await pushFirst(kit, flow, definition);
      else if (step.type === 'code' && (data.nextCheckAt ?? 0) <= kit.now()) await runCodeStep(kit, flow, definition);
      else return;
    }
    logger.warn({ flowId }, 'a flow kept changing while it was settled; the next check continues');
  }

  /**
   * Handles a flow timer; one of an earlier step (its epoch passed) or of an ended flow does nothing. Resolves to
   * `'rescheduled'` when the flow's check timer was moved while this one fired, so the timer pump leaves it.
   */
  async function onTimer(record: TimerRecord): Promise<'rescheduled' | undefined> {
    const { flowId, epoch, n } = record.payload as { flowId: string; epoch?: number; n?: number };
    const isCheck = record.kind === 'flow.check';
    if (isCheck) firing.set(flowId, false);
    try {
      const flow = await flows.get(flowId);
      if (!flow) return undefined;
      if (!isCheck) {
        if (flow.state !== RUNNING || dataOf(flow).epoch !== epoch) return undefined;
        const definition = kit.definitionOf(flow);
        if (record.kind === 'flow.remind') await remind(kit, flow, definition, n ?? 1);
        else if (record.kind === 'flow.escalate') await escalate(kit, flow, definition);
        else if (record.kind === 'flow.expire') await expire(kit, flow, definition);
      }
      await settle(flowId);
      return isCheck && firing.get(flowId) ? 'rescheduled' : undefined;
    } finally {
      if (isCheck) firing.delete(flowId);
    }
  }

  return { transact: kit.transact, settle, onTimer, definitionOf: kit.definitionOf };
}

/** The runtime from {@link createFlowRuntime}. */
export type FlowRuntime = ReturnType<typeof createFlowRuntime>;
