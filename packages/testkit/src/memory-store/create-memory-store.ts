import type {
  ActionTokenStore,
  ApplyResponseResult,
  AuditStore,
  Clock,
  FlowRecord,
  Store,
  TimerStore,
} from '@idrelay/core';
import { systemClock } from '@idrelay/core';
import { createMemoryDirectoryStore } from './directory.js';
import { createMemoryOutbox } from './outbox.js';
import { createMemoryOutgoing } from './outgoing.js';
import {
  createMemoryActionTokens,
  createMemoryDevices,
  createMemoryEvents,
  createMemoryFlows,
  createMemoryPreferences,
  type TokenRow,
} from './records.js';
import { createMemoryAudit, createMemoryDigests, createMemoryRetention, createMemoryTimers } from './scheduling.js';
import { createMemoryState, guarded } from './state.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Time for what the store stamps itself (`createdAt` of deliveries, removal of devices). Default: system. */
  clock?: Clock;
  /** Shown in messages. Default `memory`. */
  name?: string;
}

/**
 * A {@link Store} that lives in memory: every port, the same behaviour as the SQL stores (it passes
 * `storeContract()`), nothing on disk. For unit tests and examples; it keeps everything until it is closed, so
 * it is not for production.
 *
 * @example
 * ```ts
 * import { createMemoryStore } from '@idrelay/testkit';
 *
 * const store = createMemoryStore();
 * await store.devices.upsert({ deviceId: 'd-1', userId: 'u-1', platform: 'fcm', token: 'fcm-token-1', createdAt: 0, updatedAt: 0 });
 * console.log(await store.devices.countByUser('u-1')); // 1
 * await store.close();
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  const state = createMemoryState(options.name ?? 'memory', () => clock.now());
  const tokens = new Map<string, TokenRow>();
  const flows = new Map<string, FlowRecord>();
  const timers = createMemoryTimers(state, new Map());
  const audit = createMemoryAudit();
  return {
    name: state.name,
    events: guarded(state, createMemoryEvents(state, audit)),
    devices: guarded(state, createMemoryDevices(state)),
    directory: guarded(state, createMemoryDirectoryStore()),
    preferences: guarded(state, createMemoryPreferences(state)),
    outbox: guarded(state, createMemoryOutbox(state)),
    outgoing: guarded(state, createMemoryOutgoing(state)),
    actionTokens: guarded(state, withResponses(createMemoryActionTokens(tokens), flows, state, timers, audit)),
    flows: guarded(state, createMemoryFlows(flows, state)),
    timers: guarded(state, timers),
    digests: guarded(state, createMemoryDigests()),
    audit: guarded(state, audit),
    retention: guarded(state, createMemoryRetention(state, tokens)),
    async migrate() {
      return { from: 1, to: 1 };
    },
    async close() {
      state.closed = true;
    },
  };
}

/**
 * Adds the response ports (`lookup`, `applyResponse`) to the token port. Every memory port does its work before
 * its first `await`, so calling them one after another without awaiting in between is one atomic step.
 */
function withResponses(
  port: Omit<ActionTokenStore, 'lookup' | 'applyResponse'>,
  flows: Map<string, FlowRecord>,
  state: ReturnType<typeof createMemoryState>,
  timers: TimerStore,
  audit: AuditStore,
): ActionTokenStore {
  const flowPort = createMemoryFlows(flows, state);
  const devices = createMemoryDevices(state);
  return {
    ...port,
    async lookup(tokenHash, deviceId) {
      const [token, device] = [port.get(tokenHash), devices.get(deviceId)];
      const stored = await token;
      const flowId = stored?.record.flowId;
      const flow = flowId === undefined ? undefined : await flowPort.get(flowId);
      const found = await device;
      return {
        ...(stored !== undefined ? { token: stored } : {}),
        ...(found !== undefined ? { device: found } : {}),
        ...(flow !== undefined ? { flow } : {}),
      };
    },
    async applyResponse(input) {
      const pending: Promise<unknown>[] = [];
      const step = (): ApplyResponseResult | Promise<ApplyResponseResult> => {
        const row = flows.get(input.flow?.id ?? '');
        // The checks read plain maps, so nothing can interleave between them and the writes below.
        const consumed = port.consume(input.tokenHash, input.at);
        return consumed.then((result) => {
          if (result.status !== 'ok') return { consumed: result };
          let moved: ApplyResponseResult['flow'];
          if (input.flow !== undefined) {
            if (row?.version !== input.flow.expectedVersion) return { consumed: result, flow: 'conflict' };
            pending.push(
              flowPort.update(input.flow.id, input.flow.expectedVersion, input.flow.patch, {
                ...(input.flow.emit !== undefined ? { emit: input.flow.emit } : {}),
              }),
            );
            moved = 'moved';
          }
          if (input.revokeNotification !== undefined)
            pending.push(port.revokeByNotification(input.revokeNotification, input.at));
          if (input.cancelTimers !== undefined && input.cancelTimers.length > 0)
            pending.push(timers.cancel(input.cancelTimers));
          if (input.audit !== undefined && input.audit.length > 0) pending.push(audit.append(input.audit));
          return moved === undefined ? { consumed: result } : { consumed: result, flow: moved };
        });
      };
      const result = await step();
      await Promise.all(pending);
      return result;
    },
  };
}
