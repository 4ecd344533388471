import type {
  AuditEntry,
  AuditStore,
  ClaimedTimer,
  DigestStore,
  RetentionStore,
  TimerRecord,
  TimerStore,
} from '@idrelay/core';
import { chainAuditEntries } from '@idrelay/core';
import type { TokenRow } from './records.js';
import { clone, type MemoryState } from './state.js';

type TimerRow = TimerRecord & { claimToken?: number; leaseUntil?: number };

/** Timers: claimed with a lease and a fencing token; rescheduling ends a claim. */
export function createMemoryTimers(state: MemoryState, timers: Map<string, TimerRow>): TimerStore {
  const readyAt = (t: TimerRow) => Math.max(t.dueAt, t.leaseUntil ?? 0);
  return {
    async schedule(timer) {
      timers.set(timer.id, clone(timer));
    },
    async claimDue(now, limit, leaseMs) {
      if (limit <= 0) return [];
      const due = [...timers.values()]
        .filter((t) => readyAt(t) <= now)
        .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1))
        .slice(0, limit);
      const token = state.nextToken();
      return due.map((t): ClaimedTimer => {
        t.claimToken = token;
        t.leaseUntil = now + leaseMs;
        return clone({ ...t, claimToken: token, leaseUntil: now + leaseMs });
      });
    },
    async complete(claims) {
      let settled = 0;
      const stale: string[] = [];
      for (const { id, claimToken } of claims) {
        const t = timers.get(id);
        if (t?.claimToken === claimToken) {
          timers.delete(id);
          settled++;
        } else stale.push(id);
      }
      return { settled, stale };
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
        const at = readyAt(t);
        if (next === undefined || at < next) next = at;
      }
      return next;
    },
  };
}

/** Digest windows: one open window per key, items in arrival order. */
export function createMemoryDigests(): DigestStore {
  const windows = new Map<string, { count: number; items: Record<string, unknown>[]; windowEndsAt: number }>();
  return {
    async add({ key, windowEndsAt, item }) {
      const open = windows.get(key);
      if (open) {
        open.count++;
        open.items.push(clone(item));
        return { opened: false, count: open.count, windowEndsAt: open.windowEndsAt };
      }
      windows.set(key, { count: 1, items: [clone(item)], windowEndsAt });
      return { opened: true, count: 1, windowEndsAt };
    },
    async take(key, sampleSize) {
      const open = windows.get(key);
      if (!open) return undefined;
      windows.delete(key);
      return { count: open.count, items: open.items.slice(0, sampleSize) };
    },
  };
}

/** The hash-chained audit log. */
export function createMemoryAudit(): AuditStore {
  const log: AuditEntry[] = [];
  return {
    async append(entries) {
      const chained = chainAuditEntries(log.at(-1), entries);
      log.push(...chained);
      return clone(chained);
    },
    async list({ afterSeq = 0, limit }) {
      return clone(log.filter((e) => e.seq > afterSeq).slice(0, limit));
    },
    async head() {
      const last = log.at(-1);
      return last && clone(last);
    },
  };
}

/** Retention over the shared state: finished records older than their cut-off, at most `limit` per kind. */
export function createMemoryRetention(state: MemoryState, tokens: Map<string, TokenRow>): RetentionStore {
  const FINAL = new Set(['delivered', 'failed', 'dead', 'cancelled', 'expired']);
  return {
    async prune(cutoffs, limit) {
      const counts = {
        deliveries: 0,
        messages: 0,
        rejectedEvents: 0,
        events: 0,
        actionTokens: 0,
        outgoing: 0,
        devices: 0,
      };
      const take = <T>(items: Iterable<T>, keep: (item: T) => boolean, drop: (item: T) => void): number => {
        let n = 0;
        for (const item of items) {
          if (n >= limit) break;
          if (!keep(item)) {
            drop(item);
            n++;
          }
        }
        return n;
      };
      if (cutoffs.deliveries !== undefined) {
        const cut = cutoffs.deliveries;
        counts.deliveries = take(
          [...state.deliveries.values()],
          (row) => !(FINAL.has(row.status) && row.updatedAt < cut),
          (row) => {
            state.deliveries.delete(row.id);
            state.pairs.delete(`${row.notificationId}\0${row.deviceId}`);
          },
        );
        const used = new Set([...state.deliveries.values()].map((row) => `${row.notificationId}\0${row.variant}`));
        counts.messages = take(
          [...state.messages.entries()],
          ([key, m]) => used.has(key) || m.createdAt >= cut,
          ([key]) => state.messages.delete(key),
        );
        const live = new Set([...state.deliveries.values()].map((row) => row.notificationId));
        for (const [id, n] of state.notifications)
          if (!live.has(id) && n.createdAt < cut) state.notifications.delete(id);
      }
      if (cutoffs.rejectedEvents !== undefined) {
        const cut = cutoffs.rejectedEvents;
        const before = state.rejected.length;
        const old = state.rejected.filter((r) => r.receivedAt < cut).slice(0, limit);
        state.rejected = state.rejected.filter((r) => !old.includes(r));
        counts.rejectedEvents = before - state.rejected.length;
      }
      if (cutoffs.events !== undefined) {
        const cut = cutoffs.events;
        counts.events = take(
          [...state.events.values()],
          (e) => !(e.status === 'planned' && e.receivedAt < cut),
          (e) => state.events.delete(e.key),
        );
      }
      if (cutoffs.actionTokens !== undefined) {
        const cut = cutoffs.actionTokens;
        counts.actionTokens = take(
          [...tokens.values()],
          (t) => !((t.usedAt ?? t.revokedAt ?? t.expiresAt) < cut),
          (t) => tokens.delete(t.tokenHash),
        );
      }
      if (cutoffs.outgoing !== undefined || cutoffs.deadOutgoing !== undefined) {
        counts.outgoing = take(
          [...state.outgoing.values()],
          (e) =>
            !(
              (e.status === 'delivered' && cutoffs.outgoing !== undefined && e.updatedAt < cutoffs.outgoing) ||
              (e.status === 'dead' && cutoffs.deadOutgoing !== undefined && e.updatedAt < cutoffs.deadOutgoing)
            ),
          (e) => state.outgoing.delete(e.seq),
        );
      }
      if (cutoffs.devices !== undefined) {
        const cut = cutoffs.devices;
        const referenced = new Set([...state.deliveries.values()].map((row) => row.deviceId));
        counts.devices = take(
          [...state.removedDevices.values()],
          (d) => referenced.has(d.deviceId) || d.removedAt >= cut,
          (d) => state.removedDevices.delete(d.deviceId),
        );
      }
      return counts;
    },
  };
}
