import type { FlowRecord } from '@idrelay/core';
import type { FlowKit } from './flow-runtime.js';
import { dataOf, type FlowData } from './flow-state.js';

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
  const done = await kit.options.push.withdraw(flow.id, notifications, at, exceptDevice);
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
