import { type FlowRecord, IdrelayError } from '@idrelay/core';
import { DEFAULT_STATUS_CHECK_MS, type FlowDefinition, type FlowFunctionResult } from './definition.js';
import type { FlowKit } from './flow-runtime.js';
import { dataOf, type FlowData, RUNNING } from './flow-state.js';
import { move, nextAfter, stepOf, traced } from './transitions.js';

/**
 * Runs the current code step's registered function (by name: never code from data) and moves the flow by its
 * answer. A function that answers `pending` or throws is run again after the step's status-check interval. The
 * function runs before its result is stored, so a crash in between runs it again: code steps are at least once,
 * and the change is applied only if the flow did not move meanwhile.
 */
export async function runCodeStep(kit: FlowKit, flow: FlowRecord, definition: FlowDefinition): Promise<void> {
  const data = dataOf(flow);
  const step = stepOf(definition, data.step);
  if (step.type !== 'code') return;
  const fn = kit.options.registry.fn(step.run);
  let result: FlowFunctionResult | undefined;
  let failure: string | undefined;
  try {
    if (!fn) throw new IdrelayError('ERR_FLOW_FUNCTION_FAILED', `No function "${step.run}" is registered`);
    result = await fn(kit.scopeOf(flow));
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
    kit.options.logger.warn({ err: error, flowId: flow.id, step: step.id }, 'a flow code step failed; it runs again');
  }
  await kit.transact(flow.id, (current) => {
    const d = dataOf(current);
    if (current.state !== RUNNING || d.epoch !== data.epoch || current.version !== flow.version) return undefined;
    const at = kit.now();
    if (failure !== undefined || !result || result.pending) {
      const message =
        failure !== undefined ? `${step.run} failed: ${failure}` : (result?.trace ?? `${step.run} pending`);
      return {
        state: RUNNING,
        data: traced({ ...d, nextCheckAt: at + (step.statusCheckMs ?? DEFAULT_STATUS_CHECK_MS) }, step, at, message),
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
