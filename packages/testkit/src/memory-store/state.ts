import type {
  DeviceRecord,
  OutboxStatus,
  OutgoingEntry,
  OutgoingInput,
  PushMessage,
  RejectedInput,
  StoredEvent,
  UserPreferences,
} from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';

/** A delivery row as the memory store keeps it: refs to the notification, message and device, like SQL stores. */
export interface DeliveryRow {
  id: number;
  notificationId: string;
  variant: string;
  deviceId: string;
  platform: DeviceRecord['platform'];
  status: OutboxStatus;
  priority: number;
  dueAt: number;
  expiresAt?: number;
  attempts: number;
  claimToken?: number;
  leaseUntil?: number;
  data?: Readonly<Record<string, string>>;
  lastError?: { code: string; reason?: string };
  providerMessageId?: string;
  createdAt: number;
  updatedAt: number;
}

/** Everything one memory store holds. Ports share it, as SQL ports share one database. */
export interface MemoryState {
  readonly name: string;
  now(): number;
  closed: boolean;
  events: Map<string, StoredEvent>;
  rejected: RejectedInput[];
  /** Live devices by id. */
  devices: Map<string, DeviceRecord>;
  /** Removed devices, kept while deliveries reference them (history shows where a push went). */
  removedDevices: Map<string, DeviceRecord & { removedAt: number }>;
  preferences: Map<string, UserPreferences>;
  notifications: Map<string, { eventKey: string; ruleId: string; createdAt: number }>;
  messages: Map<string, { message: PushMessage; createdAt: number }>;
  deliveries: Map<number, DeliveryRow>;
  /** `notificationId \0 deviceId` of every delivery: one per pair. */
  pairs: Map<string, number>;
  outgoing: Map<number, OutgoingEntry & { seq: number }>;
  /** The fencing counter every claim draws from. */
  nextToken(): number;
  nextId(): number;
  appendOutgoing(entries: readonly OutgoingInput[] | undefined, at: number): void;
}

/** `notificationId` and variant as one map key. */
export const messageKey = (notificationId: string, variant: string): string => `${notificationId}\0${variant}`;

/** A deep copy, so callers never share objects with the store (as with a database). */
export const clone = <T>(value: T): T => structuredClone(value);

/** Creates the state behind one memory store. */
export function createMemoryState(name: string, now: () => number): MemoryState {
  let token = 0;
  let id = 0;
  const state: MemoryState = {
    name,
    now,
    closed: false,
    events: new Map(),
    rejected: [],
    devices: new Map(),
    removedDevices: new Map(),
    preferences: new Map(),
    notifications: new Map(),
    messages: new Map(),
    deliveries: new Map(),
    pairs: new Map(),
    outgoing: new Map(),
    nextToken: () => ++token,
    nextId: () => ++id,
    appendOutgoing(entries, at) {
      for (const input of entries ?? []) {
        const seq = state.nextId();
        state.outgoing.set(seq, {
          consumer: input.consumer,
          orderKey: input.orderKey,
          event: clone(input.event),
          id: String(seq),
          seq,
          status: 'pending',
          attempts: 0,
          dueAt: at,
          createdAt: at,
          updatedAt: at,
        });
      }
    },
  };
  return state;
}

/** Wraps a port so every call fails with `ERR_STORE_CLOSED` after `close()`, and answers asynchronously. */
export function guarded<T extends object>(state: MemoryState, port: T): T {
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (state.closed) throw new IdrelayError('ERR_STORE_CLOSED', `The store ${state.name} was closed.`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
