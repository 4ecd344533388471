import { isIdrelayError } from '../../errors/idrelay-error.js';
import type { ActionTokenStore, ApplyResponseResult } from './action-tokens.js';
import type { AuditStore } from './audit-store.js';
import type { DeviceStore } from './devices.js';
import type { FlowStore } from './flows.js';
import type { TimerStore } from './timers.js';

/** The ports {@link composeResponsePorts} builds on. */
export interface ResponsePortsBase {
  actionTokens: Omit<ActionTokenStore, 'lookup' | 'applyResponse'>;
  devices: Pick<DeviceStore, 'get'>;
  flows: Pick<FlowStore, 'get' | 'findByKey' | 'update'>;
  timers: Pick<TimerStore, 'cancel'>;
  audit: Pick<AuditStore, 'append'>;
}

/**
 * `lookup` and `applyResponse` of {@link ActionTokenStore} composed from a store's other ports, for a store that has
 * no single transaction for them: the token is consumed first (atomic), then the flow is moved (optimistic
 * version), and only then are the other tokens revoked, the timers cancelled and the audit appended, as separate
 * writes. The outcome matches the one-transaction version except after a crash in between: the token can be spent
 * while the flow has not moved yet (it then expires or is decided on another device).
 *
 * @example
 * ```ts
 * const actionTokens = { ...tokens, ...composeResponsePorts({ actionTokens: tokens, devices, flows, timers, audit }) };
 * ```
 */
export function composeResponsePorts(ports: ResponsePortsBase): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  return {
    async lookup(tokenHash, deviceId, options = {}) {
      const [token, device] = await Promise.all([ports.actionTokens.get(tokenHash), ports.devices.get(deviceId)]);
      const flowId = token?.record.flowId;
      const kind = token === undefined ? undefined : options.userFlowKind;
      const [flow, userFlow] = await Promise.all([
        flowId === undefined ? undefined : ports.flows.get(flowId),
        kind === undefined ? undefined : ports.flows.findByKey(kind, token!.record.userId),
      ]);
      return {
        ...(token !== undefined ? { token } : {}),
        ...(device !== undefined ? { device } : {}),
        ...(flow !== undefined ? { flow } : {}),
        ...(kind !== undefined ? { userFlow: userFlow ?? null } : {}),
      };
    },
    async applyResponse(input) {
      const consumed = await ports.actionTokens.consume(input.tokenHash, input.at);
      if (consumed.status !== 'ok') return { consumed };
      let moved: ApplyResponseResult['flow'];
      if (input.flow !== undefined) {
        const { id, expectedVersion, patch, emit } = input.flow;
        try {
          await ports.flows.update(id, expectedVersion, patch, emit === undefined ? {} : { emit });
          moved = 'moved';
        } catch (error) {
          if (!isIdrelayError(error, 'ERR_STORE_CONFLICT')) throw error;
          return { consumed, flow: 'conflict' };
        }
      }
      await Promise.all([
        input.revokeNotification === undefined
          ? undefined
          : ports.actionTokens.revokeByNotification(input.revokeNotification, input.at),
        input.cancelTimers === undefined || input.cancelTimers.length === 0
          ? undefined
          : ports.timers.cancel(input.cancelTimers),
        input.audit === undefined || input.audit.length === 0 ? undefined : ports.audit.append(input.audit),
      ]);
      return moved === undefined ? { consumed } : { consumed, flow: moved };
    },
  };
}
