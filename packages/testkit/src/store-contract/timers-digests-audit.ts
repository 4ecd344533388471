import type { AuditEntryInput, ClaimedTimer, TimerRecord } from '@idrelay/core';
import { AUDIT_GENESIS_HASH, verifyAuditChain } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { T0, together } from './fixtures.js';

const LEASE = 10_000;
const timer = (id: string, dueAt: number, over: Partial<TimerRecord> = {}): TimerRecord => ({
  id,
  kind: 'flow.reminder',
  dueAt,
  payload: { step: 'approve', reminder: 1 },
  ...over,
});
const ids = (timers: readonly TimerRecord[]) => timers.map((t) => t.id);
/** A claimed timer without its claim, to compare with what was scheduled. */
const bare = (timers: readonly ClaimedTimer[]): TimerRecord[] =>
  timers.map(({ claimToken: _token, leaseUntil: _lease, ...t }) => t);
const claimsOf = (timers: readonly ClaimedTimer[]) => timers.map((t) => ({ id: t.id, claimToken: t.claimToken }));
const entry = (n: number, over: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  at: T0 + n,
  action: 'delivery.delivered',
  actor: 'system',
  target: `delivery-${n}`,
  ...over,
});

/** Timers (claim with lease, complete, cancel), digests (windows) and the hash-chained audit log. */
export function describeTimersDigestsAudit(ctx: ContractContext): void {
  describe('timers', () => {
    it('claims due timers, earliest first, and not again while leased', async () => {
      await ctx.store.timers.schedule(timer('t-late', T0 - 10, { flowId: 'flow-1' }));
      await ctx.store.timers.schedule(timer('t-early', T0 - 20));
      await ctx.store.timers.schedule(timer('t-future', T0 + 60_000));
      const claimed = await ctx.store.timers.claimDue(T0, 10, LEASE);
      expect(bare(claimed)).toEqual([timer('t-early', T0 - 20), timer('t-late', T0 - 10, { flowId: 'flow-1' })]);
      expect(claimed.map((t) => t.leaseUntil)).toEqual([T0 + LEASE, T0 + LEASE]);
      expect(await ctx.store.timers.claimDue(T0 + LEASE - 1, 10, LEASE)).toEqual([]);
      expect(ids(await ctx.store.timers.claimDue(T0, 1, LEASE))).toEqual([]);
    });

    it('fires a timer again when its claim was not completed in time, and never after completion', async () => {
      await ctx.store.timers.schedule(timer('t-1', T0));
      await ctx.store.timers.schedule(timer('t-2', T0));
      const first = await ctx.store.timers.claimDue(T0, 10, LEASE);
      expect(ids(first).sort()).toEqual(['t-1', 't-2']);
      await ctx.store.timers.complete(claimsOf(first).filter((c) => c.id === 't-1'));
      const again = await ctx.store.timers.claimDue(T0 + LEASE, 10, LEASE);
      expect(ids(again)).toEqual(['t-2']);
      await ctx.store.timers.complete(claimsOf(again));
      expect(await ctx.store.timers.claimDue(T0 + 10 * LEASE, 10, LEASE)).toEqual([]);
      expect(await ctx.store.timers.nextDueAt()).toBeUndefined();
    });

    it('moves a timer scheduled again under the same id', async () => {
      await ctx.store.timers.schedule(timer('t-1', T0));
      await ctx.store.timers.schedule(timer('t-1', T0 + 5_000, { payload: { reminder: 2 } }));
      expect(await ctx.store.timers.claimDue(T0, 10, LEASE)).toEqual([]);
      expect(bare(await ctx.store.timers.claimDue(T0 + 5_000, 10, LEASE))).toEqual([
        timer('t-1', T0 + 5_000, { payload: { reminder: 2 } }),
      ]);
    });

    it('fences completion: a late completer cannot delete a timer claimed again or rescheduled since', async () => {
      await ctx.store.timers.schedule(timer('t-1', T0));
      await ctx.store.timers.schedule(timer('t-2', T0));
      const first = await ctx.store.timers.claimDue(T0, 10, LEASE);
      const second = await ctx.store.timers.claimDue(T0 + LEASE, 10, LEASE);
      expect(ids(second).sort()).toEqual(['t-1', 't-2']);
      await ctx.store.timers.schedule(timer('t-2', T0 + 60_000, { payload: { reminder: 2 } }));
      const late = await ctx.store.timers.complete(claimsOf(first));
      expect(late.settled).toBe(0);
      expect([...late.stale].sort()).toEqual(['t-1', 't-2']);
      // t-2 was moved: the second claim no longer holds it either, and it fires at its new time.
      const current = await ctx.store.timers.complete(claimsOf(second));
      expect(current).toEqual({ settled: 1, stale: ['t-2'] });
      expect(bare(await ctx.store.timers.claimDue(T0 + 60_000, 10, LEASE))).toEqual([
        timer('t-2', T0 + 60_000, { payload: { reminder: 2 } }),
      ]);
    });

    it('cancels timers by id and by flow', async () => {
      await ctx.store.timers.schedule(timer('t-1', T0, { flowId: 'flow-1' }));
      await ctx.store.timers.schedule(timer('t-2', T0, { flowId: 'flow-1' }));
      await ctx.store.timers.schedule(timer('t-3', T0, { flowId: 'flow-2' }));
      await ctx.store.timers.schedule(timer('t-4', T0));
      expect(await ctx.store.timers.cancelByFlow('flow-1')).toBe(2);
      await ctx.store.timers.cancel(['t-4', 't-none']);
      expect(ids(await ctx.store.timers.claimDue(T0, 10, LEASE))).toEqual(['t-3']);
    });

    it('tells when the next timer is due, counting lease expiry', async () => {
      expect(await ctx.store.timers.nextDueAt()).toBeUndefined();
      await ctx.store.timers.schedule(timer('t-1', T0 + 1_000));
      await ctx.store.timers.schedule(timer('t-2', T0 + 50_000));
      expect(await ctx.store.timers.nextDueAt()).toBe(T0 + 1_000);
      await ctx.store.timers.claimDue(T0 + 1_000, 1, LEASE);
      expect(await ctx.store.timers.nextDueAt()).toBe(T0 + 1_000 + LEASE);
    });

    it('never hands one timer to two concurrent claims', async () => {
      for (let i = 0; i < 40; i++) await ctx.store.timers.schedule(timer(`t-${i}`, T0 + i));
      const batches = await together(ctx.concurrency, () => ctx.store.timers.claimDue(T0 + 100, 3, LEASE));
      const claimed = batches.flat().map((t) => t.id);
      expect(new Set(claimed).size).toBe(claimed.length);
      expect(claimed).toHaveLength(Math.min(40, ctx.concurrency * 3));
    });
  });

  describe('digests', () => {
    it('collects a burst in one window and hands it over once', async () => {
      const key = 'workflow.failed|admin-1';
      const first = await ctx.store.digests.add({ key, windowEndsAt: T0 + 60_000, item: { workflow: 'w-1' } });
      const second = await ctx.store.digests.add({ key, windowEndsAt: T0 + 99_000, item: { workflow: 'w-2' } });
      await ctx.store.digests.add({ key, windowEndsAt: T0 + 99_000, item: { workflow: 'w-3' } });
      await ctx.store.digests.add({ key: 'sync.failed|admin-1', windowEndsAt: T0 + 1, item: { other: true } });
      expect(first).toEqual({ opened: true, count: 1, windowEndsAt: T0 + 60_000 });
      expect(second).toEqual({ opened: false, count: 2, windowEndsAt: T0 + 60_000 });

      expect(await ctx.store.digests.take(key, 2)).toEqual({
        count: 3,
        items: [{ workflow: 'w-1' }, { workflow: 'w-2' }],
      });
      expect(await ctx.store.digests.take(key, 2)).toBeUndefined();
      const reopened = await ctx.store.digests.add({ key, windowEndsAt: T0 + 120_000, item: { workflow: 'w-4' } });
      expect(reopened).toEqual({ opened: true, count: 1, windowEndsAt: T0 + 120_000 });
      expect(await ctx.store.digests.take('sync.failed|admin-1', 10)).toEqual({ count: 1, items: [{ other: true }] });
    });
  });

  describe('audit', () => {
    it('chains entries from the genesis hash and reads them back intact', async () => {
      expect(await ctx.store.audit.head()).toBeUndefined();
      const appended = await ctx.store.audit.append([
        entry(1, { eventRef: 'https://iam.example.com#e-1', details: { attempt: 1, nested: { ok: true } } }),
        entry(2),
      ]);
      expect(appended.map((e) => e.seq)).toEqual([1, 2]);
      expect(appended[0]?.prevHash).toBe(AUDIT_GENESIS_HASH);
      expect(appended[1]?.prevHash).toBe(appended[0]?.hash);
      const more = await ctx.store.audit.append([entry(3)]);
      expect(more[0]).toMatchObject({ seq: 3, prevHash: appended[1]?.hash });

      const listed = await ctx.store.audit.list({ limit: 100 });
      expect(listed).toEqual([...appended, ...more]);
      expect(verifyAuditChain(listed)).toBeUndefined();
      expect(await ctx.store.audit.head()).toEqual(more[0]);
      expect(await ctx.store.audit.list({ afterSeq: 1, limit: 1 })).toEqual([appended[1]]);
      expect(await ctx.store.audit.append([])).toEqual([]);
    });

    it('hashes only the fields it stores, so the chain verifies after reading back', async () => {
      const sloppy = { ...entry(1), extra: 'not part of an audit entry', details: { keep: 1, drop: undefined } };
      await ctx.store.audit.append([sloppy as AuditEntryInput]);
      const listed = await ctx.store.audit.list({ limit: 10 });
      expect(verifyAuditChain(listed)).toBeUndefined();
      expect(listed[0]?.details).toEqual({ keep: 1 });
    });

    it('keeps one unbroken chain under concurrent appends', async () => {
      const writers = ctx.concurrency;
      await together(writers, (w) => ctx.store.audit.append([1, 2, 3].map((n) => entry(n, { actor: `writer-${w}` }))));
      const listed = await ctx.store.audit.list({ limit: writers * 3 + 10 });
      expect(listed.map((e) => e.seq)).toEqual(Array.from({ length: writers * 3 }, (_, i) => i + 1));
      expect(verifyAuditChain(listed)).toBeUndefined();
      expect(verifyAuditChain(listed, AUDIT_GENESIS_HASH)).toBeUndefined();
      // One append is one run of consecutive entries: a writer's batch is never interleaved with another's.
      for (let i = 0; i < listed.length; i += 3) {
        expect(new Set(listed.slice(i, i + 3).map((e) => e.actor)).size).toBe(1);
      }
    });
  });
}
