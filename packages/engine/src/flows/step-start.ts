import type { DirectoryUser, FlowRecord, TimerRecord } from '@idrelay/core';
import { audiencePages } from '../audience/resolve-audience.js';
import { notificationId } from '../plan/keys.js';
import { readPath } from '../shared/read-path.js';
import { excludedBy } from './decision.js';
import type { FlowDefinition, NotifyStep } from './definition.js';
import type { FlowKit } from './flow-runtime.js';
import { dataOf, type FlowData, RUNNING } from './flow-state.js';
import { stepOf, traced } from './transitions.js';

/** Approvers a notify step resolves at most. */
const MAX_APPROVERS = 1000;

/** The instant a notify step expires: `expire.afterMs` after it started or the input's `expire.atPath`, earlier first. */
export function deadlineOf(step: NotifyStep, data: FlowData): number | undefined {
  const candidates: number[] = [];
  if (step.expire?.afterMs !== undefined) candidates.push(data.enteredAt + step.expire.afterMs);
  if (step.expire?.atPath) {
    const raw = readPath(data.input, step.expire.atPath);
    const at = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
    if (Number.isFinite(at)) candidates.push(at);
  }
  return candidates.length > 0 ? Math.min(...candidates) : undefined;
}

/** A durable timer of a step (`flow.remind`, `flow.escalate`, `flow.expire`); its epoch makes it a no-op once the step is over. */
export function stepTimer(flow: FlowRecord, kind: string, n: number, dueAt: number, epoch: number): TimerRecord {
  return {
    id: `${kind}:${flow.id}:${epoch}:${n}`,
    kind,
    dueAt,
    flowId: flow.id,
    payload: { flowId: flow.id, epoch, n },
  };
}

/** Directory users by id; one the directory no longer knows is kept by id (their devices are still registered). */
export async function usersById(kit: FlowKit, ids: readonly string[]): Promise<DirectoryUser[]> {
  const users: DirectoryUser[] = [];
  for (const id of ids) users.push((await kit.options.directory.getUser(id)) ?? { id, attributes: {} });
  return users;
}

/**
 * Pushes a step to `users` under notification `id` (first push, reminder, escalation): the step's actions, one
 * collapse id per step (so a reminder replaces the first push), expiry at the step's deadline.
 */
export function sendStepPush(
  kit: FlowKit,
  flow: FlowRecord,
  step: NotifyStep,
  id: string,
  users: readonly DirectoryUser[],
  template?: string,
): Promise<number> {
  const data = dataOf(flow);
  const expiresAt = deadlineOf(step, data);
  return kit.options.push.send({
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
    context: stepContext(kit, flow, step),
  });
}

/** What a step's templates read: the step's `data` (default the flow's input), `vars`, and the flow's id, kind and key. */
export function stepContext(kit: FlowKit, flow: FlowRecord, step: NotifyStep) {
  const data = dataOf(flow);
  return {
    data: step.data ? step.data(kit.scopeOf(flow)) : data.input,
    vars: data.vars,
    flow: { id: flow.id, kind: flow.kind, key: flow.key },
  };
}

async function resolveApprovers(kit: FlowKit, flow: FlowRecord, step: NotifyStep): Promise<string[]> {
  const audience = typeof step.approvers === 'function' ? step.approvers(kit.scopeOf(flow)) : step.approvers;
  const excluded = excludedBy(step, dataOf(flow).input);
  const ids = new Set<string>();
  // A user reached twice (in two groups, named and owner) is one approver: counted once toward the quorum.
  for await (const page of audiencePages(kit.options.directory, audience, { pageSize: 500 })) {
    for (const user of page) if (!excluded.has(user.id)) ids.add(user.id);
    if (ids.size >= MAX_APPROVERS) break;
  }
  return [...ids].slice(0, MAX_APPROVERS);
}

/** Starts the current step: approvers resolved and timers scheduled (notify), or marked entered (code). */
export async function enterStep(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step);
  const epoch = data.epoch;
  let approvers: string[] = [];
  const timers: TimerRecord[] = [];
  if (step.type === 'notify') {
    approvers = await resolveApprovers(kit, flow, step);
    if (step.remind && (step.remind.max ?? 1) >= 1)
      timers.push(stepTimer(flow, 'flow.remind', 1, data.enteredAt + step.remind.afterMs, epoch));
    if (step.escalate) timers.push(stepTimer(flow, 'flow.escalate', 1, data.enteredAt + step.escalate.afterMs, epoch));
    const deadline = deadlineOf(step, data);
    if (deadline !== undefined) timers.push(stepTimer(flow, 'flow.expire', 1, deadline, epoch));
  }
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== epoch || d.entered) return undefined;
    const at = kit.now();
    const message = `step started${approvers.length ? ` with ${approvers.length} approver(s)` : ''}`;
    return {
      state: RUNNING,
      transitions: 0,
      timers,
      data: traced({ ...d, entered: true, approvers }, step, at, message),
      audit: [
        {
          at,
          action: 'flow.step.started',
          actor: 'system',
          target: current.id,
          details: { kind: current.kind, step: step.id, approvers },
        },
      ],
    };
  });
}

/** Sends the step's first push to its approvers, then records it (a crash in between re-sends nothing new). */
export async function pushFirst(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step) as NotifyStep;
  const id = notificationId(`${flow.id}:${data.epoch}`, 'flow-notify');
  await sendStepPush(kit, flow, step, id, await usersById(kit, data.approvers));
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== data.epoch || d.pushed) return undefined;
    return { state: RUNNING, transitions: 0, data: { ...d, pushed: true, notifications: [...d.notifications, id] } };
  });
}
