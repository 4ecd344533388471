import type { OutgoingEntry, OutgoingStatus, OutgoingStore } from '@idrelay/core';
import { clone, type MemoryState } from './state.js';

const LIVE = new Set<OutgoingStatus>(['pending', 'claimed']);

function view(entry: OutgoingEntry & { seq: number }): OutgoingEntry {
  const { seq: _seq, ...rest } = entry;
  const out = clone(rest);
  if (out.status !== 'claimed') delete out.leaseUntil;
  return out;
}

/** The outgoing log in memory: per consumer, in append order, one live entry per order key at a time. */
export function createMemoryOutgoing(state: MemoryState): OutgoingStore {
  const ofConsumer = (consumer: string | undefined) =>
    [...state.outgoing.values()]
      .filter((entry) => consumer === undefined || entry.consumer === consumer)
      .sort((a, b) => a.seq - b.seq);
  return {
    async append(entries, at) {
      state.appendOutgoing(entries, at);
    },
    async claim({ consumer, limit, now, leaseMs }) {
      if (limit <= 0) return [];
      const heads = new Set<string>();
      const token = state.nextToken();
      const claimed: OutgoingEntry[] = [];
      for (const entry of ofConsumer(consumer)) {
        if (claimed.length >= limit) break;
        if (!LIVE.has(entry.status) || heads.has(entry.orderKey)) continue;
        heads.add(entry.orderKey);
        const ready = entry.status === 'claimed' ? (entry.leaseUntil ?? 0) : entry.dueAt;
        if (ready > now) continue;
        entry.status = 'claimed';
        entry.attempts++;
        entry.claimToken = token;
        entry.leaseUntil = now + leaseMs;
        entry.updatedAt = now;
        claimed.push(view(entry));
      }
      return claimed;
    },
    async settle(outcomes) {
      let settled = 0;
      const stale: string[] = [];
      for (const outcome of outcomes) {
        const entry = state.outgoing.get(Number(outcome.id));
        if (entry?.status !== 'claimed' || entry.claimToken !== outcome.claimToken) {
          stale.push(outcome.id);
          continue;
        }
        entry.updatedAt = outcome.at;
        delete entry.leaseUntil;
        if (outcome.status === 'delivered') entry.status = 'delivered';
        else {
          entry.status = outcome.status === 'retry' ? 'pending' : 'dead';
          entry.lastError = clone(outcome.error);
          if (outcome.status === 'retry') entry.dueAt = outcome.dueAt;
        }
        settled++;
      }
      return { settled, stale };
    },
    async redrive(ids, at) {
      let n = 0;
      for (const id of ids) {
        const entry = state.outgoing.get(Number(id));
        if (entry?.status !== 'dead') continue;
        Object.assign(entry, { status: 'pending', dueAt: at, attempts: 0, updatedAt: at });
        n++;
      }
      return n;
    },
    async list({ consumer, status, afterId, limit }) {
      const after = afterId === undefined ? 0 : Number(afterId);
      return ofConsumer(consumer)
        .filter((entry) => entry.seq > after && (status === undefined || entry.status === status))
        .slice(0, limit)
        .map(view);
    },
    async nextDueAt(consumer) {
      let next: number | undefined;
      const heads = new Set<string>();
      for (const entry of ofConsumer(consumer)) {
        // Only the head of each key can be claimed: an entry waiting behind it is not due, whatever its time.
        const head = `${entry.consumer}\0${entry.orderKey}`;
        if (!LIVE.has(entry.status) || heads.has(head)) continue;
        heads.add(head);
        const at = entry.status === 'claimed' ? (entry.leaseUntil ?? 0) : entry.dueAt;
        if (next === undefined || at < next) next = at;
      }
      return next;
    },
    async counts(consumer) {
      const counts: Record<OutgoingStatus, number> = { pending: 0, claimed: 0, delivered: 0, dead: 0 };
      for (const entry of ofConsumer(consumer)) counts[entry.status]++;
      return counts;
    },
  };
}
