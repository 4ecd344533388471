import type {
  ActionTokenRecord,
  ActionTokenStore,
  AuditStore,
  DeviceStore,
  EventStore,
  FlowRecord,
  FlowStore,
  PreferenceStore,
} from '@idrelay/core';
import { deviceAddressKey, eventKey, IdrelayError } from '@idrelay/core';
import { clone, type MemoryState } from './state.js';

/** Events: dedupe by key, unplanned in arrival order, rejected newest first. */
export function createMemoryEvents(state: MemoryState, audit?: Pick<AuditStore, 'append'>): EventStore {
  return {
    async record(event, receivedAt, options = {}) {
      const key = eventKey(event);
      if (state.events.has(key)) return { inserted: false, key };
      state.events.set(key, { key, event: clone(event), status: 'received', receivedAt });
      if (options.audit !== undefined && options.audit.length > 0) await audit?.append(options.audit);
      return { inserted: true, key };
    },
    async get(key) {
      const found = state.events.get(key);
      return found && clone(found);
    },
    async markPlanned(key, options = {}) {
      const found = state.events.get(key);
      if (found) found.status = 'planned';
      if (options.audit !== undefined && options.audit.length > 0) await audit?.append(options.audit);
    },
    async listUnplanned(limit, options = {}) {
      return [...state.events.values()]
        .filter((e) => e.status === 'received')
        .filter((e) => options.receivedBefore === undefined || e.receivedAt < options.receivedBefore)
        .sort((a, b) => a.receivedAt - b.receivedAt)
        .slice(0, limit)
        .map(clone);
    },
    async recordRejected(entry) {
      state.rejected.push(clone(entry));
    },
    async listRejected(limit) {
      return [...state.rejected]
        .sort((a, b) => b.receivedAt - a.receivedAt)
        .slice(0, limit)
        .map(clone);
    },
  };
}

/** Devices: a token or endpoint belongs to one device; removed devices are kept aside for history. */
export function createMemoryDevices(state: MemoryState): DeviceStore {
  const remove = (deviceId: string): boolean => {
    const device = state.devices.get(deviceId);
    if (device === undefined) return false;
    state.devices.delete(deviceId);
    state.removedDevices.set(deviceId, { ...device, removedAt: state.now() });
    return true;
  };
  return {
    async upsert(device) {
      const key = deviceAddressKey(device);
      const displaced = [...state.devices.values()]
        .filter((d) => d.deviceId !== device.deviceId && d.platform === device.platform && deviceAddressKey(d) === key)
        .map((d) => d.deviceId);
      for (const id of displaced) remove(id);
      state.removedDevices.delete(device.deviceId);
      state.devices.set(device.deviceId, clone(device));
      return { displaced };
    },
    async get(deviceId) {
      const found = state.devices.get(deviceId);
      return found && clone(found);
    },
    async listByUser(userId) {
      return [...state.devices.values()]
        .filter((d) => d.userId === userId)
        .sort((a, b) => a.createdAt - b.createdAt || (a.deviceId < b.deviceId ? -1 : 1))
        .map(clone);
    },
    async listByUsers(userIds) {
      const wanted = new Set(userIds);
      return [...state.devices.values()].filter((d) => wanted.has(d.userId)).map(clone);
    },
    async remove(deviceId) {
      return remove(deviceId);
    },
    async countByUser(userId) {
      return [...state.devices.values()].filter((d) => d.userId === userId).length;
    },
  };
}

/** Preferences, with their outgoing entries appended in the same step. */
export function createMemoryPreferences(state: MemoryState): PreferenceStore {
  return {
    async get(userId) {
      const found = state.preferences.get(userId);
      return found && clone(found);
    },
    async getMany(userIds) {
      const result = new Map();
      for (const id of userIds) {
        const found = state.preferences.get(id);
        if (found) result.set(id, clone(found));
      }
      return result;
    },
    async put(preferences, options = {}) {
      state.preferences.set(preferences.userId, clone(preferences));
      state.appendOutgoing(options.emit, preferences.updatedAt);
    },
  };
}

type TokenRow = ActionTokenRecord & { usedAt?: number; revokedAt?: number; attempts?: number };

/** Action tokens: single use, expiry, revocation by notification or device, failed-attempt counts. */
export function createMemoryActionTokens(
  tokens: Map<string, TokenRow>,
): Omit<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const record = (row: TokenRow): ActionTokenRecord => {
    const { usedAt: _used, revokedAt: _revoked, attempts: _attempts, ...rest } = row;
    if (rest.purpose === 'action') delete rest.purpose;
    return clone(rest);
  };
  const revokeWhere = (match: (row: TokenRow) => boolean, at: number): number => {
    let n = 0;
    for (const row of tokens.values()) {
      if (!match(row) || row.usedAt !== undefined || row.revokedAt !== undefined) continue;
      row.revokedAt = at;
      n++;
    }
    return n;
  };
  return {
    async put(value) {
      tokens.set(value.tokenHash, clone(value));
    },
    async putMany(values) {
      for (const value of values) tokens.set(value.tokenHash, clone(value));
    },
    async putOnce(value) {
      if (tokens.has(value.tokenHash)) return false;
      tokens.set(value.tokenHash, clone(value));
      return true;
    },
    async get(tokenHash) {
      const row = tokens.get(tokenHash);
      if (row === undefined) return undefined;
      return {
        record: record(row),
        attempts: row.attempts ?? 0,
        ...(row.usedAt !== undefined ? { usedAt: row.usedAt } : {}),
        ...(row.revokedAt !== undefined ? { revokedAt: row.revokedAt } : {}),
      };
    },
    async consume(tokenHash, now) {
      const row = tokens.get(tokenHash);
      if (row === undefined) return { status: 'unknown' };
      if (row.usedAt !== undefined) return { status: 'used', record: record(row) };
      if (row.revokedAt !== undefined) return { status: 'revoked', record: record(row) };
      if (row.expiresAt <= now) return { status: 'expired', record: record(row) };
      row.usedAt = now;
      return { status: 'ok', record: record(row) };
    },
    async recordFailure(tokenHash) {
      const row = tokens.get(tokenHash);
      if (row === undefined) return 0;
      row.attempts = (row.attempts ?? 0) + 1;
      return row.attempts;
    },
    async revokeByNotification(notificationId, at) {
      return revokeWhere((row) => row.notificationId === notificationId, at);
    },
    async revokeByDevice(deviceId, at) {
      return revokeWhere((row) => row.deviceId === deviceId && (row.purpose ?? 'action') === 'action', at);
    },
  };
}

/** Flows: idempotent start by (kind, key), optimistic concurrency on `version`. */
export function createMemoryFlows(flows: Map<string, FlowRecord>, state?: MemoryState): FlowStore {
  const byKey = (kind: string, key: string) => [...flows.values()].find((f) => f.kind === kind && f.key === key);
  return {
    async create(flow) {
      const existing = byKey(flow.kind, flow.key);
      if (existing) return { created: false, flow: clone(existing) };
      const created = { ...clone(flow), version: 1 };
      flows.set(flow.id, created);
      return { created: true, flow: clone(created) };
    },
    async get(id) {
      const found = flows.get(id);
      return found && clone(found);
    },
    async findByKey(kind, key) {
      const found = byKey(kind, key);
      return found && clone(found);
    },
    async update(id, expectedVersion, patch, options = {}) {
      const found = flows.get(id);
      if (found?.version !== expectedVersion) {
        throw new IdrelayError('ERR_STORE_CONFLICT', `Flow ${id} changed (expected version ${expectedVersion}).`, {
          details: { id, expectedVersion, actualVersion: found?.version },
        });
      }
      Object.assign(found, clone(patch), { version: found.version + 1 });
      state?.appendOutgoing(options.emit, patch.updatedAt);
      return clone(found);
    },
  };
}

export type { TokenRow };
