import type { Clock, FlowRecord, Store } from '@idrelay/core';
import { composeResponsePorts, systemClock } from '@idrelay/core';
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
  const actionTokens = createMemoryActionTokens(tokens);
  const devices = createMemoryDevices(state);
  const flowPort = createMemoryFlows(flows, state);
  const audit = createMemoryAudit();
  return {
    name: state.name,
    events: guarded(state, createMemoryEvents(state, audit)),
    devices: guarded(state, devices),
    directory: guarded(state, createMemoryDirectoryStore()),
    preferences: guarded(state, createMemoryPreferences(state)),
    outbox: guarded(state, createMemoryOutbox(state)),
    outgoing: guarded(state, createMemoryOutgoing(state)),
    actionTokens: guarded(state, {
      ...actionTokens,
      ...composeResponsePorts({ actionTokens, devices, flows: flowPort, timers, audit }),
    }),
    flows: guarded(state, flowPort),
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
