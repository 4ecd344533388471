import type { DeliveryOutcome, OutboxStatus } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDelivery, enqueueWithDevices, T0 } from './fixtures.js';

/** A delivery as the model sees it. */
interface Modelled {
  status: OutboxStatus;
  dueAt: number;
  leaseUntil?: number;
  notificationId: string;
  attempts: number;
  token?: number;
}

/** A small seeded generator (mulberry32): the same sequence on every run and every store. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const LEASE = 1_000;

/**
 * A seeded random mix of enqueue, claim, settle (with the token of the latest claim), cancel and time passing, checked step by step against a model
 * of the outbox. Claims ask for more than can be due, so which deliveries they return is fully determined.
 */
export function describeOutboxModel(ctx: ContractContext): void {
  describe('outbox against a model', () => {
    it('agrees with the model on every claim and every count through 300 random steps', {
      timeout: 60_000,
    }, async () => {
      const next = random(20_260_101);
      const model = new Map<string, Modelled>(); // by device id, which contractDelivery makes unique per n
      const idOf = new Map<string, string>();
      const tokenOf = new Map<string, number>();
      let now = T0;
      let created = 0;

      for (let step = 0; step < 300; step++) {
        const op = next(10);
        if (op < 3) {
          const batch = Array.from({ length: 1 + next(4) }, () => {
            const n = next(3) === 0 && created > 0 ? next(created) : created++; // some repeats: idempotency
            return contractDelivery(`m${n}`, { dueAt: now + next(3) * 500, notificationId: `note-${n % 5}` });
          });
          await enqueueWithDevices(ctx.store, batch);
          for (const d of batch) {
            if (!model.has(d.deviceId)) {
              model.set(d.deviceId, {
                status: 'pending',
                dueAt: d.dueAt,
                notificationId: d.notificationId,
                attempts: 0,
              });
            }
          }
        } else if (op < 6) {
          const claimed = await ctx.store.outbox.claim({ limit: 10_000, now, leaseMs: LEASE });
          const expected = [...model]
            .filter(([, m]) =>
              m.status === 'pending' ? m.dueAt <= now : m.status === 'claimed' && (m.leaseUntil ?? 0) <= now,
            )
            .map(([device]) => device)
            .sort();
          expect(claimed.map((d) => d.deviceId).sort()).toEqual(expected);
          for (const d of claimed) {
            const m = model.get(d.deviceId)!;
            Object.assign(m, {
              status: 'claimed',
              leaseUntil: now + LEASE,
              attempts: m.attempts + 1,
              token: d.claimToken,
            });
            expect(d.attempts).toBe(m.attempts);
            idOf.set(d.deviceId, d.id);
            tokenOf.set(d.deviceId, d.claimToken!);
          }
        } else if (op < 8) {
          const outcomes: DeliveryOutcome[] = [];
          for (const [device, m] of model) {
            const id = idOf.get(device);
            if (id === undefined || next(2) === 0) continue;
            const kind = next(4);
            const error = { code: 'ERR_TRANSPORT_TIMEOUT' };
            const claimToken = tokenOf.get(device)!;
            const outcome: DeliveryOutcome =
              kind === 0
                ? { id, claimToken, status: 'delivered', at: now }
                : kind === 1
                  ? { id, claimToken, status: 'retry', dueAt: now + 700, error, at: now }
                  : { id, claimToken, status: kind === 2 ? 'failed' : 'expired', error, at: now };
            outcomes.push(outcome);
            // A delivery claimed again since (its lease ran out) holds a newer token: the model ignores the outcome too.
            if (m.status !== 'claimed' || m.token !== claimToken) continue;
            m.status = outcome.status === 'retry' ? 'pending' : outcome.status;
            if (outcome.status === 'retry') m.dueAt = outcome.dueAt;
          }
          await ctx.store.outbox.settle(outcomes);
        } else if (op < 9) {
          const note = `note-${next(5)}`;
          const live = [...model.values()].filter(
            (m) => m.notificationId === note && (m.status === 'pending' || m.status === 'claimed'),
          );
          expect(await ctx.store.outbox.cancelByNotification(note, now)).toBe(live.length);
          for (const m of live) m.status = 'cancelled';
        } else {
          now += next(3) * 400;
        }

        const counts = { pending: 0, claimed: 0, delivered: 0, failed: 0, dead: 0, cancelled: 0, expired: 0 };
        for (const m of model.values()) counts[m.status]++;
        expect(await ctx.store.outbox.counts()).toEqual(counts);
      }
      expect(created).toBeGreaterThan(40);
    });
  });
}
