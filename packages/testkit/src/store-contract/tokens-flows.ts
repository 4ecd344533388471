import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractEvent, contractFlow, contractToken, T0, together } from './fixtures.js';

/** Action tokens (single use under concurrency, expiry, revocation) and flows (idempotent start, versions). */
export function describeTokensAndFlows(ctx: ContractContext): void {
  describe('action tokens', () => {
    it('consumes a token once and returns its record', async () => {
      const record = contractToken('hash-1');
      await ctx.store.actionTokens.put(record);
      expect(await ctx.store.actionTokens.consume('hash-1', T0 + 1)).toEqual({ status: 'ok', record });
      expect(await ctx.store.actionTokens.consume('hash-1', T0 + 2)).toEqual({ status: 'used', record });
      expect(await ctx.store.actionTokens.consume('hash-unknown', T0)).toEqual({ status: 'unknown' });
    });

    it('lets exactly one of many concurrent consumers win', async () => {
      await ctx.store.actionTokens.put(contractToken('hash-race'));
      const results = await together(ctx.concurrency, () => ctx.store.actionTokens.consume('hash-race', T0 + 1));
      expect(results.filter((r) => r.status === 'ok')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'used')).toHaveLength(ctx.concurrency - 1);
    });

    it('refuses an expired token', async () => {
      const record = contractToken('hash-old', { expiresAt: T0 + 1_000 });
      await ctx.store.actionTokens.put(record);
      expect(await ctx.store.actionTokens.consume('hash-old', T0 + 1_000)).toEqual({ status: 'expired', record });
    });

    it('revokes the unused tokens of a notification decided on another device', async () => {
      await ctx.store.actionTokens.put(contractToken('hash-a', { deviceId: 'device-a' }));
      await ctx.store.actionTokens.put(contractToken('hash-b', { deviceId: 'device-b' }));
      await ctx.store.actionTokens.put(contractToken('hash-other', { notificationId: 'notification-2' }));
      expect((await ctx.store.actionTokens.consume('hash-a', T0 + 1)).status).toBe('ok');
      expect(await ctx.store.actionTokens.revokeByNotification('notification-1', T0 + 2)).toBe(1);
      expect((await ctx.store.actionTokens.consume('hash-b', T0 + 3)).status).toBe('revoked');
      expect((await ctx.store.actionTokens.consume('hash-a', T0 + 3)).status).toBe('used');
      expect((await ctx.store.actionTokens.consume('hash-other', T0 + 3)).status).toBe('ok');
    });

    it('keeps optional fields absent when they were not given', async () => {
      const { flowId, codeHash, ...bare } = contractToken('hash-bare');
      await ctx.store.actionTokens.put(bare);
      const result = await ctx.store.actionTokens.consume('hash-bare', T0);
      expect(result).toEqual({ status: 'ok', record: bare });
    });
  });

  describe('flows', () => {
    it('starts a flow once per kind and key', async () => {
      const first = await ctx.store.flows.create(contractFlow('flow-1', 'request-7'));
      expect(first).toEqual({ created: true, flow: { ...contractFlow('flow-1', 'request-7'), version: 1 } });
      const again = await ctx.store.flows.create(contractFlow('flow-2', 'request-7', { state: 'other' }));
      expect(again).toEqual({ created: false, flow: first.flow });
      const otherKind = await ctx.store.flows.create(contractFlow('flow-3', 'request-7', { kind: 'onboarding' }));
      expect(otherKind.created).toBe(true);
      expect(await ctx.store.flows.get('flow-1')).toEqual(first.flow);
      expect(await ctx.store.flows.findByKey('access-approval', 'request-7')).toEqual(first.flow);
      expect(await ctx.store.flows.get('flow-2')).toBeUndefined();
      expect(await ctx.store.flows.findByKey('access-approval', 'request-8')).toBeUndefined();
    });

    it('applies an update at the expected version and bumps the version', async () => {
      await ctx.store.flows.create(contractFlow('flow-1', 'request-7'));
      const updated = await ctx.store.flows.update('flow-1', 1, {
        state: 'approved',
        transitions: 1,
        data: { approvedBy: 'manager-1' },
        updatedAt: T0 + 10,
      });
      expect(updated).toEqual({
        ...contractFlow('flow-1', 'request-7'),
        state: 'approved',
        transitions: 1,
        data: { approvedBy: 'manager-1' },
        updatedAt: T0 + 10,
        version: 2,
      });
      const partial = await ctx.store.flows.update('flow-1', 2, { state: 'closed', updatedAt: T0 + 11 });
      expect(partial).toMatchObject({ state: 'closed', transitions: 1, data: { approvedBy: 'manager-1' }, version: 3 });
      expect(await ctx.store.flows.get('flow-1')).toEqual(partial);
    });

    it('refuses a stale update with ERR_STORE_CONFLICT; of concurrent updates one wins', async () => {
      await ctx.store.flows.create(contractFlow('flow-1', 'request-7'));
      await ctx.store.flows.update('flow-1', 1, { state: 'reminded', updatedAt: T0 + 1 });
      await expect(ctx.store.flows.update('flow-1', 1, { state: 'approved', updatedAt: T0 + 2 })).rejects.toSatisfy(
        (error) => isIdrelayError(error, 'ERR_STORE_CONFLICT'),
      );

      const attempts = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          ctx.store.flows.update('flow-1', 2, { state: `decision-${i}`, transitions: 1, updatedAt: T0 + 3 }),
        ),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const failure of lost) expect(isIdrelayError(failure.reason, 'ERR_STORE_CONFLICT')).toBe(true);
      expect((await ctx.store.flows.get('flow-1'))?.version).toBe(3);
    });

    it('appends entries with an update in the same write, and none with a lost update', async () => {
      await ctx.store.flows.create(contractFlow('flow-1', 'request-7'));
      const approved = contractEvent('approved-1', '/idrelay/relay');
      await ctx.store.flows.update(
        'flow-1',
        1,
        { state: 'approved', updatedAt: T0 + 5 },
        { emit: [{ consumer: 'iam', orderKey: 'request-7', event: approved }] },
      );
      const lost = contractEvent('approved-2', '/idrelay/relay');
      await expect(
        ctx.store.flows.update(
          'flow-1',
          1,
          { state: 'denied', updatedAt: T0 + 6 },
          { emit: [{ consumer: 'iam', orderKey: 'request-7', event: lost }] },
        ),
      ).rejects.toSatisfy((error) => isIdrelayError(error, 'ERR_STORE_CONFLICT'));
      const listed = await ctx.store.outgoing.list({ consumer: 'iam', limit: 10 });
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ status: 'pending', orderKey: 'request-7', dueAt: T0 + 5, event: approved });
      expect((await ctx.store.flows.get('flow-1'))?.state).toBe('approved');
    });

    it('refuses to update a flow that does not exist', async () => {
      await expect(ctx.store.flows.update('flow-none', 1, { state: 'x', updatedAt: T0 })).rejects.toSatisfy((error) =>
        isIdrelayError(error, 'ERR_STORE_CONFLICT'),
      );
    });
  });
}
