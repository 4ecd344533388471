import type { DirectoryUser, FlowRecord } from '@idrelay/core';
import { audiencePages } from '../audience/resolve-audience.js';
import { notificationId } from '../plan/keys.js';
import { excludedBy } from './decision.js';
import type { FlowDefinition } from './definition.js';
import type { FlowKit } from './flow-runtime.js';
import { dataOf, type FlowData, RUNNING } from './flow-state.js';
import { sendStepPush, stepTimer, usersById } from './step-start.js';
import { move, stepOf, traced } from './transitions.js';

const undecided = (data: FlowData, stepId: string) =>
  data.approvers.filter((id) => !data.decisions.some((d) => d.step === stepId && d.userId === id));

/**
 * `flow.remind` number `n`: reminds the approvers who have not decided (once per number), then schedules the
 * next reminder. The push goes out before it is recorded, under a deterministic notification id, so a crash in
 * between re-sends nothing (the outbox keeps one delivery per notification and device).
 */
export async function remind(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition, n: number): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step);
  if (step.type !== 'notify' || !step.remind || n > (step.remind.max ?? 1)) return;
  if (data.reminders >= n || !data.pushed) return;
  const pending = undecided(data, step.id);
  const id = notificationId(`${flow.id}:${data.epoch}`, `flow-remind-${n}`);
  await sendStepPush(kit, flow, step, id, await usersById(kit, pending), step.remind.template);
  const max = step.remind.max ?? 1;
  const every = step.remind.everyMs ?? step.remind.afterMs;
  const next = data.enteredAt + step.remind.afterMs + n * every;
  const timers = n < max ? [stepTimer(flow, 'flow.remind', n + 1, next, data.epoch)] : [];
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== data.epoch || d.reminders >= n) return undefined;
    const at = kit.now();
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

/**
 * `flow.escalate`: the directory managers of the approvers who have not decided become approvers too and are
 * notified. Approvers without a manager add nobody; a manager excluded by segregation of duties is never asked.
 */
export async function escalate(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step);
  if (step.type !== 'notify' || !step.escalate || data.escalated || !data.pushed) return;
  const excluded = excludedBy(step, data.input);
  const managers: DirectoryUser[] = [];
  for (const id of undecided(data, step.id)) {
    for await (const page of audiencePages(kit.options.directory, { kind: 'manager-of', userId: id })) {
      for (const user of page) {
        if (!excluded.has(user.id) && !data.approvers.includes(user.id) && !managers.some((m) => m.id === user.id)) {
          managers.push(user);
        }
      }
    }
  }
  const id = notificationId(`${flow.id}:${data.epoch}`, 'flow-escalate');
  await sendStepPush(kit, flow, step, id, managers, step.escalate.template);
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== data.epoch || d.escalated) return undefined;
    const at = kit.now();
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

/**
 * `flow.expire`: ends the step's flow with `expire.outcome` (default `expired`, reason `timeout`), unless a
 * decision got there first: both are computed from the stored flow and written at its version, so exactly one
 * of them wins and the other finds the flow ended.
 */
export async function expire(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step);
  if (step.type !== 'notify') return;
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== data.epoch) return undefined;
    const at = kit.now();
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
