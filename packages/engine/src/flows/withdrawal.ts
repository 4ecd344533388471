import type { FlowRecord } from '@idrelay/core';
import type { WithdrawalText } from './flow-push.js';
import type { FlowKit } from './flow-runtime.js';
import { dataOf, type FlowData } from './flow-state.js';
import { stepContext } from './step-start.js';

/**
 * The update for a step's stale pushes: the step's `withdrawTemplate` (a key, or chosen by outcome and reason),
 * else `flow:decided`, or `flow:closed` when no decision ended the step (a reason is set). It reads what the
 * step's own push read.
 */
export function withdrawalText(kit: FlowKit, flow: FlowRecord): WithdrawalText {
  const data = dataOf(flow);
  const fallback = data.reason ? 'flow:closed' : 'flow:decided';
  const step = kit.definitionOf(flow).steps.find((s) => s.id === (data.withdraw?.step ?? data.step));
  if (step?.type !== 'notify') return { template: fallback, context: {} };
  const choose = step.withdrawTemplate;
  const template =
    typeof choose === 'function'
      ? choose({
          ...kit.scopeOf(flow),
          ...(data.outcome !== undefined ? { outcome: data.outcome } : {}),
          ...(data.reason !== undefined ? { reason: data.reason } : {}),
        })
      : (choose ?? fallback);
  return { template, context: stepContext(kit, flow, step) };
}

/**
 * Withdraws the pushes a decided (or moved-on, or ended) step left on devices, then clears the mark, audited as
 * `flow.withdrawn`. Withdrawing twice changes nothing (cancelled rows stay cancelled, revoked tokens revoked, the
 * update has a deterministic notification id), so a crash before the mark is cleared only repeats it.
 */
export async function withdrawDecided(kit: FlowKit, flow: FlowRecord): Promise<void> {
  const pending = dataOf(flow).withdraw;
  if (!pending) return;
  const { notifications, exceptDevice } = pending;
  const at = kit.now();
  const done = await kit.options.push.withdraw(flow.id, notifications, at, exceptDevice, withdrawalText(kit, flow));
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (d.withdraw?.notifications.join() !== notifications.join()) return undefined;
    const { withdraw: _, ...rest } = d;
    return {
      state: current.state,
      transitions: 0,
      data: rest as FlowData,
      audit: [
        { at, action: 'flow.withdrawn', actor: 'system', target: current.id, details: { notifications, ...done } },
      ],
    };
  });
}
