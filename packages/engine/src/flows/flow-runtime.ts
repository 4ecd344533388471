import {
  type AuditEntryInput,
  type AuditStore,
  type Clock,
  type Directory,
  type DirectoryUser,
  type FlowRecord,
  type FlowStore,
  type IdentityEvent,
  IdrelayError,
  isIdrelayError,
  type Logger,
  type TimerRecord,
  type TimerStore,
} from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { audiencePages } from '../audience/resolve-audience.js';
import type { ConsumerRegistry } from '../outgoing/consumers.js';
import type { Listeners } from '../outgoing/listeners.js';
import { notificationId } from '../plan/keys.js';
import { readPath } from '../shared/read-path.js';
import { DEFAULT_STATUS_CHECK_MS, type FlowDefinition, type FlowScope, type NotifyStep } from './definition.js';
import type { FlowPush } from './flow-push.js';
import { dataOf, type FlowData, RUNNING } from './flow-state.js';
import type { FlowRegistry } from './registry.js';
import { excludedBy, maxTransitionsOf, move, nextAfter, stepOf, traced } from './transitions.js';

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

const MAX_ATTEMPTS = 8;

/**
 * The flow runtime: every change goes through {@link FlowRuntime.transact} (optimistic concurrency, retried on
 * `ERR_STORE_CONFLICT`, the maximum-transitions rule, events into the outgoing log in the same write), and
 * {@link FlowRuntime.settle} does what a stored change asks for next (start a step, push, withdraw, run a code
 * step). Both are idempotent, and a durable `flow.check` timer is scheduled before each change that leaves work,
 * so a process that dies between the two leaves it to the next one.
 *
 * @example
 * ```ts
 * const runtime = createFlowRuntime(options);
 * await runtime.settle(flowId);
 * ```
 */
export function createFlowRuntime(options: FlowRuntimeOptions) {
  const { flows, registry, clock, logger } = options;
  const now = () => clock.now();

  function definitionOf(flow: FlowRecord): FlowDefinition {
    const definition = registry.get(flow.kind, flow.definitionVersion);
    if (!definition) {
      throw new IdrelayError(
        'ERR_FLOW_UNKNOWN',
        `Flow ${flow.id} runs ${flow.kind} v${flow.definitionVersion}, which is not registered; keep old versions registered while their flows run`,
        { details: { flowId: flow.id, kind: flow.kind, version: flow.definitionVersion } },
      );
    }
    return definition;
  }

  const scopeOf = (flow: FlowRecord): FlowScope => ({
    flowId: flow.id,
    kind: flow.kind,
    key: flow.key,
    input: dataOf(flow).input,
    vars: dataOf(flow).vars,
  });

  function eventsFor(flow: FlowRecord, definition: FlowDefinition, change: FlowChange, at: number): IdentityEvent[] {
    const outcome = change.data.outcome;
    if (change.state === RUNNING || outcome === undefined || dataOf(flow).outcome !== undefined) return [];
    const build = definition.events?.[outcome];
    const built = build?.({
      ...scopeOf(flow),
      vars: change.data.vars,
      outcome,
      ...(change.data.reason ? { reason: change.data.reason } : {}),
      ...(change.decision ? { decision: change.decision } : {}),
      now: at,
    });
    if (!built) return [];
    return [
      createEvent(built.type, built.data as never, {
        source: options.source,
        id: `flow-${flow.id}-${change.data.epoch}-${outcome}`,
        subject: flow.key,
        time: new Date(at),
      }),
    ];
  }

  /**
   * Reads the flow, asks `compute` for a change and stores it at the version read; on a conflict, reads again and
   * recomputes. A change that would leave the flow running at or past its step's maximum transitions terminates
   * it instead (outcome `terminated`, reason `max-transitions`).
   */
  async function transact<R>(
    flowId: string,
    compute: (flow: FlowRecord, definition: FlowDefinition) => FlowChange | { result: R } | undefined,
  ): Promise<{ flow: FlowRecord; change?: FlowChange; result?: R }> {
    for (let attempt = 1; ; attempt++) {
      const flow = await flows.get(flowId);
      if (!flow) throw new IdrelayError('ERR_FLOW_NOT_FOUND', `No flow has the id ${flowId}`, { details: { flowId } });
      const definition = definitionOf(flow);
      const computed = compute(flow, definition);
      if (computed === undefined) return { flow };
      if ('result' in computed) return { flow, result: computed.result };
      const at = now();
      let change = computed;
      const transitions = flow.transitions + (change.transitions ?? 1);
      if (change.state === RUNNING && (change.transitions ?? 1) > 0) {
        const max = maxTransitionsOf(definition, change.data.step);
        if (transitions >= max) {
          const ended = move(change.data, { end: 'terminated' }, at, 'max-transitions');
          change = {
            ...change,
            state: ended.state,
            data: traced(
              ended.data,
              stepOf(definition, change.data.step),
              at,
              `terminated after ${transitions} transitions`,
            ),
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
      }
      const events = eventsFor(flow, definition, change, at);
      const emit = events.flatMap((event) => options.consumers.entriesFor(event, flow.key));
      const timers = [...(change.timers ?? [])];
      // Work left for settle() (a step to start, pushes to withdraw, a code step to re-run) gets a durable check.
      if (change.data.withdraw || change.data.epoch !== dataOf(flow).epoch || change.data.nextCheckAt !== undefined) {
        const step = definition.steps.find((s) => s.id === change.data.step);
        const dueAt = change.data.nextCheckAt ?? at + (step?.statusCheckMs ?? DEFAULT_STATUS_CHECK_MS);
        timers.push({
          id: `flow-check:${flow.id}:v${flow.version + 1}`,
          kind: 'flow.check',
          dueAt,
          payload: { flowId },
        });
      }
      for (const timer of timers) await options.timers.schedule(timer);
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
        const ended = change.state !== RUNNING && dataOf(flow).outcome === undefined;
        const audit = [
          ...(change.audit ?? []),
          ...(ended
            ? [
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
              ]
            : []),
        ];
        if (audit.length > 0) await options.audit.append(audit);
        for (const timer of timers) options.onTimer(timer.dueAt);
        if (emit.length > 0) options.onEmitted(at);
        if (events.length > 0 && options.listeners.active) options.listeners.emit(events);
        return { flow: stored, change };
      } catch (error) {
        if (isIdrelayError(error, 'ERR_STORE_CONFLICT') && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  async function resolveApprovers(flow: FlowRecord, step: NotifyStep): Promise<DirectoryUser[]> {
    const audience = typeof step.approvers === 'function' ? step.approvers(scopeOf(flow)) : step.approvers;
    const excluded = excludedBy(step, dataOf(flow).input);
    const users: DirectoryUser[] = [];
    for await (const page of audiencePages(options.directory, audience, { pageSize: 500 })) {
      for (const user of page) if (!excluded.has(user.id)) users.push(user);
      if (users.length >= 1000) break;
    }
    return users;
  }

  function deadlineOf(step: NotifyStep, data: FlowData): number | undefined {
    const candidates: number[] = [];
    if (step.expire?.afterMs !== undefined) candidates.push(data.enteredAt + step.expire.afterMs);
    if (step.expire?.atPath) {
      const raw = readPath(data.input, step.expire.atPath);
      const at = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
      if (Number.isFinite(at)) candidates.push(at);
    }
    return candidates.length > 0 ? Math.min(...candidates) : undefined;
  }

  const timer = (flow: FlowRecord, kind: string, suffix: string, dueAt: number, epoch: number): TimerRecord => ({
    id: `${kind}:${flow.id}:${epoch}:${suffix}`,
    kind,
    dueAt,
    flowId: flow.id,
    payload: { flowId: flow.id, epoch, n: Number(suffix) || 1 },
  });

  const pushOf = (
    flow: FlowRecord,
    step: NotifyStep,
    id: string,
    users: readonly DirectoryUser[],
    template?: string,
  ) => {
    const data = dataOf(flow);
    const expiresAt = deadlineOf(step, data);
    return options.push.send({
      flowId: flow.id,
      kind: flow.kind,
      stepId: step.id,
      notificationId: id,
      users,
      template: template ?? step.template,
      category: step.category,
      urgency: step.urgency ?? 'high',
      critical: step.critical ?? false,
      actions: step.actions,
      collapseId: `flow:${flow.id}:${data.epoch}`,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
      context: {
        data: step.data ? step.data(scopeOf(flow)) : data.input,
        vars: data.vars,
        flow: { id: flow.id, kind: flow.kind, key: flow.key },
      },
    });
  };

  const firstPushId = (flow: FlowRecord) => notificationId(`${flow.id}:${dataOf(flow).epoch}`, 'flow-notify');

  /** Starts the current step: approvers resolved, timers scheduled (notify), or marked entered (code). */
  async function enter(flow: FlowRecord, definition: FlowDefinition): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step);
    const epoch = data.epoch;
    let approvers: string[] = [];
    const timers: TimerRecord[] = [];
    if (step.type === 'notify') {
      approvers = (await resolveApprovers(flow, step)).map((u) => u.id);
      if (step.remind && (step.remind.max ?? 1) >= 1)
        timers.push(timer(flow, 'flow.remind', '1', data.enteredAt + step.remind.afterMs, epoch));
      if (step.escalate) timers.push(timer(flow, 'flow.escalate', '1', data.enteredAt + step.escalate.afterMs, epoch));
      const deadline = deadlineOf(step, data);
      if (deadline !== undefined) timers.push(timer(flow, 'flow.expire', '1', deadline, epoch));
    }
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== epoch || d.entered) return undefined;
      const entered: FlowData = { ...d, entered: true, approvers };
      return {
        state: RUNNING,
        transitions: 0,
        timers,
        data: traced(
          entered,
          step,
          now(),
          `step started${approvers.length ? ` with ${approvers.length} approver(s)` : ''}`,
        ),
        audit: [
          {
            at: now(),
            action: 'flow.step.started',
            actor: 'system',
            target: current.id,
            details: { kind: current.kind, step: step.id, approvers },
          },
        ],
      };
    });
  }

  async function pushFirst(flow: FlowRecord, definition: FlowDefinition): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step) as NotifyStep;
    const id = firstPushId(flow);
    const users = await usersById(data.approvers);
    await pushOf(flow, step, id, users);
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== data.epoch || d.pushed) return undefined;
      return { state: RUNNING, transitions: 0, data: { ...d, pushed: true, notifications: [...d.notifications, id] } };
    });
  }

  async function usersById(ids: readonly string[]): Promise<DirectoryUser[]> {
    const users: DirectoryUser[] = [];
    for (const id of ids) users.push((await options.directory.getUser(id)) ?? { id, attributes: {} });
    return users;
  }

  async function runCode(flow: FlowRecord, definition: FlowDefinition): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step);
    if (step.type !== 'code') return;
    const fn = registry.fn(step.run);
    let result: Awaited<ReturnType<NonNullable<typeof fn>>> | undefined;
    let failure: string | undefined;
    try {
      if (!fn) throw new IdrelayError('ERR_FLOW_FUNCTION_FAILED', `No function "${step.run}" is registered`);
      result = await fn(scopeOf(flow));
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      logger.warn({ err: error, flowId: flow.id, step: step.id }, 'a flow code step failed; it runs again');
    }
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== data.epoch || current.version !== flow.version) return undefined;
      const at = now();
      const statusCheckMs = step.statusCheckMs ?? DEFAULT_STATUS_CHECK_MS;
      if (failure !== undefined || !result || result.pending) {
        const message =
          failure !== undefined ? `${step.run} failed: ${failure}` : (result?.trace ?? `${step.run} pending`);
        return {
          state: RUNNING,
          data: traced({ ...d, nextCheckAt: at + statusCheckMs }, step, at, message),
          audit: [
            {
              at,
              action: failure !== undefined ? 'flow.code.failed' : 'flow.code.pending',
              actor: 'system',
              target: current.id,
              details: { kind: current.kind, step: step.id, run: step.run, code: 'ERR_FLOW_FUNCTION_FAILED' },
            },
          ],
        };
      }
      const transition = result.end
        ? { end: result.end }
        : result.next
          ? { next: result.next }
          : (step.then ?? nextAfter(definition, step.id));
      const { nextCheckAt: _, ...rest } = d;
      const withVars: FlowData = { ...rest, vars: { ...d.vars, ...result.set } };
      const moved = move(traced(withVars, step, at, result.trace ?? `${step.run} done`), transition, at);
      return {
        ...moved,
        audit: [
          {
            at,
            action: 'flow.code.done',
            actor: 'system',
            target: current.id,
            details: { step: step.id, run: step.run },
          },
        ],
      };
    });
  }

  /**
   * Does what the stored flow asks for next, until nothing is left: withdraw a decided step's pushes, start the
   * current step, send its first push, run its code, cancel the timers of an ended flow. Idempotent.
   */
  async function settle(flowId: string): Promise<void> {
    for (let round = 0; round < 50; round++) {
      const flow = await flows.get(flowId);
      if (!flow) return;
      const definition = definitionOf(flow);
      const data = dataOf(flow);
      if (data.withdraw) {
        const { notifications, exceptDevice } = data.withdraw;
        const at = now();
        const done = await options.push.withdraw(flow.id, notifications, at, exceptDevice);
        await transact(flow.id, (current) => {
          const d = dataOf(current);
          if (d.withdraw?.notifications.join() !== notifications.join()) return undefined;
          const { withdraw: _, ...rest } = d;
          return {
            state: current.state,
            transitions: 0,
            data: rest as FlowData,
            audit: [
              {
                at,
                action: 'flow.withdrawn',
                actor: 'system',
                target: current.id,
                details: { notifications, ...done },
              },
            ],
          };
        });
        continue;
      }
      if (flow.state !== RUNNING) {
        await options.timers.cancelByFlow(flow.id);
        return;
      }
      const step = stepOf(definition, data.step);
      if (!data.entered) await enter(flow, definition);
      else if (step.type === 'notify' && !data.pushed) await pushFirst(flow, definition);
      else if (step.type === 'code' && (data.nextCheckAt ?? 0) <= now()) await runCode(flow, definition);
      else return;
    }
    logger.warn({ flowId }, 'a flow kept changing while it was settled; the next check continues');
  }

  /** Reminds the approvers who have not decided (once per reminder number), then schedules the next reminder. */
  async function remind(flow: FlowRecord, definition: FlowDefinition, n: number): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step);
    if (step.type !== 'notify' || !step.remind || n > (step.remind.max ?? 1)) return;
    if (data.reminders >= n || !data.pushed) return;
    const pending = data.approvers.filter((id) => !data.decisions.some((d) => d.step === step.id && d.userId === id));
    const id = notificationId(`${flow.id}:${data.epoch}`, `flow-remind-${n}`);
    // The push first (idempotent per notification and device), then the count: a crash in between re-sends nothing.
    await pushOf(flow, step, id, await usersById(pending), step.remind.template);
    const max = step.remind.max ?? 1;
    const every = step.remind.everyMs ?? step.remind.afterMs;
    const timers =
      n < max
        ? [timer(flow, 'flow.remind', String(n + 1), data.enteredAt + step.remind.afterMs + n * every, data.epoch)]
        : [];
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== data.epoch || d.reminders >= n) return undefined;
      const at = now();
      return {
        state: RUNNING,
        timers,
        data: traced(
          { ...d, reminders: n, notifications: [...d.notifications, id] },
          step,
          at,
          `reminder ${n} to ${pending.length}`,
        ),
        audit: [
          {
            at,
            action: 'flow.reminded',
            actor: 'system',
            target: current.id,
            details: { step: step.id, reminder: n, approvers: pending },
          },
        ],
      };
    });
  }

  /** Adds the managers of the approvers who have not decided, and notifies them. */
  async function escalate(flow: FlowRecord, definition: FlowDefinition): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step);
    if (step.type !== 'notify' || !step.escalate || data.escalated || !data.pushed) return;
    const excluded = excludedBy(step, data.input);
    const pending = data.approvers.filter((id) => !data.decisions.some((d) => d.step === step.id && d.userId === id));
    const managers: DirectoryUser[] = [];
    for (const id of pending) {
      for await (const page of audiencePages(options.directory, { kind: 'manager-of', userId: id })) {
        for (const user of page) {
          if (!excluded.has(user.id) && !data.approvers.includes(user.id) && !managers.some((m) => m.id === user.id)) {
            managers.push(user);
          }
        }
      }
    }
    const id = notificationId(`${flow.id}:${data.epoch}`, 'flow-escalate');
    await pushOf(flow, step, id, managers, step.escalate.template);
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== data.epoch || d.escalated) return undefined;
      const at = now();
      const added = managers.map((m) => m.id).filter((m) => !d.approvers.includes(m));
      return {
        state: RUNNING,
        data: traced(
          { ...d, escalated: true, approvers: [...d.approvers, ...added], notifications: [...d.notifications, id] },
          step,
          at,
          `escalated to ${added.join(', ') || 'nobody'}`,
        ),
        audit: [
          {
            at,
            action: 'flow.escalated',
            actor: 'system',
            target: current.id,
            details: { step: step.id, managers: added },
          },
        ],
      };
    });
  }

  async function expire(flow: FlowRecord, definition: FlowDefinition): Promise<void> {
    const data = dataOf(flow);
    const step = stepOf(definition, data.step);
    if (step.type !== 'notify') return;
    await transact(flow.id, (current) => {
      const d = dataOf(current);
      if (current.state !== RUNNING || d.epoch !== data.epoch) return undefined;
      const at = now();
      const moved = move(
        traced(d, step, at, 'deadline passed'),
        { end: step.expire?.outcome ?? 'expired' },
        at,
        'timeout',
      );
      return {
        ...moved,
        audit: [{ at, action: 'flow.expired', actor: 'system', target: current.id, details: { step: step.id } }],
      };
    });
  }

  /** Handles a flow timer; one of an earlier step (its epoch passed) or of an ended flow does nothing. */
  async function onTimer(record: TimerRecord): Promise<void> {
    const { flowId, epoch, n } = record.payload as { flowId: string; epoch?: number; n?: number };
    const flow = await flows.get(flowId);
    if (!flow) return;
    if (record.kind !== 'flow.check') {
      if (flow.state !== RUNNING || dataOf(flow).epoch !== epoch) return;
      const definition = definitionOf(flow);
      if (record.kind === 'flow.remind') await remind(flow, definition, n ?? 1);
      else if (record.kind === 'flow.escalate') await escalate(flow, definition);
      else if (record.kind === 'flow.expire') await expire(flow, definition);
    }
    await settle(flowId);
  }

  return { transact, settle, onTimer, definitionOf };
}

/** The runtime from {@link createFlowRuntime}. */
export type FlowRuntime = ReturnType<typeof createFlowRuntime>;
