import type { AuditStore, ErrorCode } from '@idrelay/core';
import { isIdrelayError } from '@idrelay/core';
import type { ResponseVerdict } from '../actions/response.js';
import { applyDecision } from './decision.js';
import type { FlowRuntime } from './flow-runtime.js';
import { dataOf, type FlowDecision, RUNNING } from './flow-state.js';
import { stepOf, traced } from './transitions.js';

/** What {@link createApplyDecision} needs. */
export interface ApplyDecisionOptions {
  runtime: Pick<FlowRuntime, 'transact'>;
  audit: Pick<AuditStore, 'append'>;
  /** Does the follow-up work of a stored decision (withdrawal, the next step); must not throw. */
  settle(flowId: string): Promise<void>;
}

/**
 * Applies one decision (a device's verified answer or a trusted API call) to a flow: segregation of duties,
 * approver, one decision each, quorum ({@link applyDecision}), computed from the stored flow and written at its
 * version, so racing decisions and timers produce exactly one outcome. A refusal changes nothing but the audit
 * (`flow.refused`); an applied decision is audited as `flow.decided` with who, what, when and from which device.
 *
 * @example
 * ```ts
 * const apply = createApplyDecision({ runtime, audit: store.audit, settle });
 * await apply(flowId, { step: '', userId: 'bob', decision: 'approve', at: Date.now(), origin: 'api' });
 * ```
 */
export function createApplyDecision(options: ApplyDecisionOptions) {
  const { runtime } = options;
  return async function apply(
    flowId: string,
    decision: FlowDecision,
    notificationId?: string,
  ): Promise<ResponseVerdict> {
    let refusal: { code: ErrorCode; detail: string } | undefined;
    try {
      const { flow, change } = await runtime.transact<never>(flowId, (current, definition) => {
        refusal = undefined;
        if (current.state !== RUNNING) {
          refusal = { code: 'ERR_FLOW_DECIDED', detail: `The request was already decided (${current.state})` };
          return undefined;
        }
        const data = dataOf(current);
        const step = stepOf(definition, data.step);
        const result = applyDecision(data, step, decision, notificationId, {
          flowId: current.id,
          kind: current.kind,
          key: current.key,
          input: data.input,
          vars: data.vars,
        });
        if (result.kind === 'refused') {
          refusal = { code: result.code, detail: result.detail };
          return undefined;
        }
        const entry = {
          at: decision.at,
          action: 'flow.decided',
          actor: decision.userId,
          target: current.id,
          details: {
            kind: current.kind,
            step: step.id,
            decision: decision.decision,
            origin: decision.origin,
            ...(decision.deviceId ? { deviceId: decision.deviceId } : {}),
            ...(decision.proofId ? { proofId: decision.proofId } : {}),
            ...(notificationId ? { notificationId } : {}),
          },
        };
        const message = `${decision.userId} chose ${decision.decision}${decision.deviceId ? ` on ${decision.deviceId}` : ''}`;
        const decided = {
          userId: decision.userId,
          decision: decision.decision,
          at: decision.at,
          ...(decision.deviceId ? { deviceId: decision.deviceId } : {}),
          ...(decision.comment ? { comment: decision.comment } : {}),
          ...(notificationId ? { notificationId } : {}),
        };
        if (result.kind === 'recorded') {
          return {
            state: RUNNING,
            data: traced(result.data, step, decision.at, message),
            audit: [entry],
            decision: decided,
          };
        }
        return {
          state: result.state,
          data: traced(result.data, step, decision.at, message),
          audit: [entry],
          decision: decided,
        };
      });
      if (refusal) {
        await options.audit.append([
          {
            at: decision.at,
            action: 'flow.refused',
            actor: decision.userId,
            target: flowId,
            details: {
              code: refusal.code,
              decision: decision.decision,
              ...(decision.deviceId ? { deviceId: decision.deviceId } : {}),
            },
          },
        ]);
        return { status: 'rejected', code: refusal.code, detail: refusal.detail };
      }
      if (!change) return { status: 'rejected', code: 'ERR_FLOW_DECIDED', detail: 'Nothing to decide' };
      await options.settle(flowId);
      return { status: 'applied', flowId, state: flow.state };
    } catch (error) {
      if (isIdrelayError(error, 'ERR_FLOW_NOT_FOUND'))
        return { status: 'rejected', code: 'ERR_FLOW_NOT_FOUND', detail: error.message };
      throw error;
    }
  };
}
