/**
 * A plain in-memory `Store` for the engine's own tests while no database is needed: each port is a page of code,
 * as ARCHITECTURE.md promises. Scenario tests run on SQLite and PostgreSQL as well; this one keeps unit tests fast.
 */
import {
  AUDIT_GENESIS_HASH,
  type AuditEntry,
  type Delivery,
  type DeviceRecord,
  hashAuditEntry,
  type IdentityEvent,
  type OutboxStatus,
  type Store,
  type StoredEvent,
  type TimerRecord,
  type UserPreferences,
} from '@idrelay/core';

function tokenOf(device: DeviceRecord): string {
  return device.platform === 'webpush' ? device.subscription.endpoint : device.token;
}

export function createMemoryStore(): Store {
  const events = new Map<string, StoredEvent>();
  const rejected: Array<{ receivedAt: number; code: string; reason: string; raw: string }> = [];
  const devices = new Map<string, DeviceRecord>();
  const preferences = new Map<string, UserPreferences>();
  const deliveries = new Map<string, Delivery>();
  const keys = new Set<string>();
  const timers = new Map<string, TimerRecord & { leaseUntil?: number }>();
  const digests = new Map<string, { count: number; items: Record<string, unknown>[]; windowEndsAt: number }>();
  const audit: AuditEntry[] = [];
  let sequence = 0;
  const clone = <T>(value: T): T => structuredClone(value);

  return {
    name: 'memory',
    events: {
      async record(event: IdentityEvent, receivedAt: number) {
        const key = `${event.source}#${event.id}`;
        if (events.has(key)) return { inserted: false, key };
        events.set(key, { key, event: clone(event), status: 'received', receivedAt });
        return { inserted: true, key };
      },
      async get(key) {
        const found = events.get(key);
        return found && clone(found);
      },
      async markPlanned(key) {
        const found = events.get(key);
        if (found) found.status = 'planned';
      },
      async listUnplanned(limit) {
        return [...events.values()]
          .filter((e) => e.status === 'received')
          .slice(0, limit)
          .map(clone);
      },
      async recordRejected(entry) {
        rejected.unshift(entry);
      },
      async listRejected(limit) {
        return rejected.slice(0, limit);
      },
    },
    devices: {
      async upsert(device) {
        const displaced: string[] = [];
        for (const other of devices.values()) {
          if (
            other.deviceId !== device.deviceId &&
            other.platform === device.platform &&
            tokenOf(other) === tokenOf(device)
          ) {
            displaced.push(other.deviceId);
          }
        }
        for (const id of displaced) devices.delete(id);
        devices.set(device.deviceId, clone(device));
        return { displaced };
      },
      async get(id) {
        const found = devices.get(id);
        return found && clone(found);
      },
      async listByUser(userId) {
        return [...devices.values()].filter((d) => d.userId === userId).map(clone);
      },
      async listByUsers(userIds) {
        const wanted = new Set(userIds);
        return [...devices.values()].filter((d) => wanted.has(d.userId)).map(clone);
      },
      async remove(id) {
        return devices.delete(id);
      },
      async countByUser(userId) {
        return [...devices.values()].filter((d) => d.userId === userId).length;
      },
    },
    preferences: {
      async get(userId) {
        const found = preferences.get(userId);
        return found && clone(found);
      },
      async getMany(userIds) {
        const result = new Map<string, UserPreferences>();
        for (const id of userIds) {
          const found = preferences.get(id);
          if (found) result.set(id, clone(found));
        }
        return result;
      },
      async put(value) {
        preferences.set(value.userId, clone(value));
      },
    },
    outbox: {
      async enqueue(list) {
        let inserted = 0;
        for (const d of list) {
          if (keys.has(d.idempotencyKey)) continue;
          keys.add(d.idempotencyKey);
          const id = `d${++sequence}`;
          deliveries.set(id, {
            ...clone(d),
            id,
            status: 'pending',
            attempts: 0,
            createdAt: d.dueAt,
            updatedAt: d.dueAt,
          });
          inserted++;
        }
        return { inserted };
      },
      async claim({ limit, now, leaseMs, platforms }) {
        const due = [...deliveries.values()]
          .filter(
            (d) => (d.status === 'pending' && d.dueAt <= now) || (d.status === 'claimed' && (d.leaseUntil ?? 0) <= now),
          )
          .filter((d) => !platforms || platforms.includes(d.platform))
          .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || a.dueAt - b.dueAt)
          .slice(0, limit);
        for (const d of due) {
          d.status = 'claimed';
          d.attempts++;
          d.leaseUntil = now + leaseMs;
          d.updatedAt = now;
        }
        return due.map(clone);
      },
      async settle(outcomes) {
        for (const o of outcomes) {
          const d = deliveries.get(o.id);
          if (d?.status !== 'claimed') continue;
          d.updatedAt = o.at;
          delete d.leaseUntil;
          if (o.status === 'delivered') {
            d.status = 'delivered';
            if (o.providerMessageId) d.providerMessageId = o.providerMessageId;
          } else if (o.status === 'retry') {
            d.status = 'pending';
            d.dueAt = o.dueAt;
            d.lastError = o.error;
          } else {
            d.status = o.status;
            d.lastError = o.error;
          }
        }
      },
      async cancelByNotification(notificationId, at) {
        let n = 0;
        for (const d of deliveries.values()) {
          if (d.notificationId === notificationId && (d.status === 'pending' || d.status === 'claimed')) {
            d.status = 'cancelled';
            d.updatedAt = at;
            n++;
          }
        }
        return n;
      },
      async get(id) {
        const found = deliveries.get(id);
        return found && clone(found);
      },
      async listByEvent(eventKey) {
        return [...deliveries.values()].filter((d) => d.eventKey === eventKey).map(clone);
      },
      async nextDueAt() {
        let next: number | undefined;
        for (const d of deliveries.values()) {
          const at = d.status === 'pending' ? d.dueAt : d.status === 'claimed' ? (d.leaseUntil ?? 0) : undefined;
          if (at !== undefined && (next === undefined || at < next)) next = at;
        }
        return next;
      },
      async counts() {
        const counts: Record<OutboxStatus, number> = {
          pending: 0,
          claimed: 0,
          delivered: 0,
          failed: 0,
          dead: 0,
          cancelled: 0,
        };
        for (const d of deliveries.values()) counts[d.status]++;
        return counts;
      },
    },
    actionTokens: {
      async put() {},
      async consume() {
        return { status: 'unknown' };
      },
      async revokeByNotification() {
        return 0;
      },
    },
    flows: {
      async create(flow) {
        return { created: true, flow: { ...flow, version: 1 } };
      },
      async get() {
        return undefined;
      },
      async findByKey() {
        return undefined;
      },
      async update() {
        throw new Error('not supported by the memory store');
      },
    },
    timers: {
      async schedule(timer) {
        timers.set(timer.id, clone(timer));
      },
      async claimDue(now, limit, leaseMs) {
        const due = [...timers.values()]
          .filter((t) => t.dueAt <= now && (t.leaseUntil ?? 0) <= now)
          .sort((a, b) => a.dueAt - b.dueAt)
          .slice(0, limit);
        for (const t of due) t.leaseUntil = now + leaseMs;
        return due.map(({ leaseUntil: _lease, ...t }) => clone(t));
      },
      async complete(ids) {
        for (const id of ids) timers.delete(id);
      },
      async cancel(ids) {
        for (const id of ids) timers.delete(id);
      },
      async cancelByFlow(flowId) {
        let n = 0;
        for (const [id, t] of timers) if (t.flowId === flowId && timers.delete(id)) n++;
        return n;
      },
      async nextDueAt() {
        let next: number | undefined;
        for (const t of timers.values()) {
          const at = Math.max(t.dueAt, t.leaseUntil ?? 0);
          if (next === undefined || at < next) next = at;
        }
        return next;
      },
    },
    digests: {
      async add({ key, windowEndsAt, item }) {
        const open = digests.get(key);
        if (open) {
          open.count++;
          open.items.push(clone(item));
          return { opened: false, count: open.count, windowEndsAt: open.windowEndsAt };
        }
        digests.set(key, { count: 1, items: [clone(item)], windowEndsAt });
        return { opened: true, count: 1, windowEndsAt };
      },
      async take(key, sampleSize) {
        const open = digests.get(key);
        if (!open) return undefined;
        digests.delete(key);
        return { count: open.count, items: open.items.slice(0, sampleSize) };
      },
    },
    audit: {
      async append(entries) {
        const out: AuditEntry[] = [];
        for (const entry of entries) {
          const prevHash = audit.at(-1)?.hash ?? AUDIT_GENESIS_HASH;
          const seq = audit.length + 1;
          const full = { ...clone(entry), seq, prevHash, hash: hashAuditEntry(seq, prevHash, entry) };
          audit.push(full);
          out.push(full);
        }
        return out;
      },
      async list({ afterSeq = 0, limit }) {
        return audit.filter((e) => e.seq > afterSeq).slice(0, limit);
      },
      async head() {
        return audit.at(-1);
      },
    },
    async migrate() {
      return { from: 1, to: 1 };
    },
    async close() {},
  };
}
