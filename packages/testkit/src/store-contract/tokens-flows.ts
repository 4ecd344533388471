import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext } from './fixtures.js';
import { contractDevice, contractEvent, contractFlow, contractToken, T0, together } from './fixtures.js';

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
    it('lets exactly one of 10 concurrent consumes win, the others see it used', async () => {
      await ctx.store.actionTokens.put(contractToken('hash-ten'));
      const results = await together(10, () => ctx.store.actionTokens.consume('hash-ten', T0 + 1));
      expect(results.map((r) => r.status).sort()).toEqual(['ok', ...Array(9).fill('used')]);
    });

    it('reads a token and its state without ever consuming it', async () => {
      const record = contractToken('hash-read');
      await ctx.store.actionTokens.put(record);
      expect(await ctx.store.actionTokens.get('hash-read')).toEqual({ record, attempts: 0 });
      await together(5, () => ctx.store.actionTokens.get('hash-read'));
      expect(await ctx.store.actionTokens.consume('hash-read', T0 + 1)).toEqual({ status: 'ok', record });
      expect(await ctx.store.actionTokens.get('hash-read')).toEqual({ record, attempts: 0, usedAt: T0 + 1 });
      expect(await ctx.store.actionTokens.get('hash-unknown')).toBeUndefined();
    });

    it('counts failed attempts atomically under concurrency', async () => {
      await ctx.store.actionTokens.put(contractToken('hash-tries'));
      const counts = await together(10, () => ctx.store.actionTokens.recordFailure('hash-tries', T0 + 1));
      expect([...counts].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await ctx.store.actionTokens.get('hash-tries'))?.attempts).toBe(10);
      expect(await ctx.store.actionTokens.recordFailure('hash-unknown', T0)).toBe(0);
      expect((await ctx.store.actionTokens.consume('hash-tries', T0 + 2)).status).toBe('ok');
    });

    it('revokes the unused action tokens of a device, not its used ones nor other purposes', async () => {
      await ctx.store.actionTokens.putMany([
        contractToken('hash-d1', { deviceId: 'device-x' }),
        contractToken('hash-d2', { deviceId: 'device-x', notificationId: 'notification-2' }),
        contractToken('hash-d3', { deviceId: 'device-y' }),
        contractToken('hash-proof', { deviceId: 'device-x', purpose: 'proof' }),
      ]);
      expect((await ctx.store.actionTokens.consume('hash-d1', T0 + 1)).status).toBe('ok');
      expect(await ctx.store.actionTokens.revokeByDevice('device-x', T0 + 2)).toBe(1);
      expect((await ctx.store.actionTokens.consume('hash-d2', T0 + 3)).status).toBe('revoked');
      expect((await ctx.store.actionTokens.get('hash-d2'))?.revokedAt).toBe(T0 + 2);
      expect((await ctx.store.actionTokens.consume('hash-d1', T0 + 3)).status).toBe('used');
      expect((await ctx.store.actionTokens.consume('hash-d3', T0 + 3)).status).toBe('ok');
      expect((await ctx.store.actionTokens.consume('hash-proof', T0 + 3)).status).toBe('ok');
    });

    it('stores many tokens at once and keeps each purpose', async () => {
      const records = Array.from({ length: 25 }, (_, i) =>
        contractToken(`hash-many-${i}`, { deviceId: `device-${i}`, purpose: i % 2 ? 'enrolment' : 'action' }),
      );
      await ctx.store.actionTokens.putMany(records);
      await ctx.store.actionTokens.putMany([]);
      const stored = await ctx.store.actionTokens.get('hash-many-3');
      expect(stored?.record).toEqual(records[3]);
      // `action` is the default and reads back absent.
      const { purpose: _default, ...plain } = records[4]!;
      expect((await ctx.store.actionTokens.get('hash-many-4'))?.record).toEqual(plain);
    });

    it('stores a record once: of 10 concurrent putOnce calls exactly one returns true', async () => {
      const record = contractToken('hash-jti', { purpose: 'proof', actions: [] });
      const results = await together(10, () => ctx.store.actionTokens.putOnce(record));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await ctx.store.actionTokens.putOnce(record)).toBe(false);
      expect((await ctx.store.actionTokens.get('hash-jti'))?.record).toEqual(record);
    });
  });

  describe('responses (lookup, applyResponse)', () => {
    const seed = async () => {
      await ctx.store.devices.upsert({
        ...contractDevice('device-1', 'user-1'),
        publicKey: 'spki',
        keyAlgorithm: 'ES256',
      });
      const { flow } = await ctx.store.flows.create(contractFlow('flow-1', 'key-r'));
      await ctx.store.actionTokens.putMany([
        contractToken('hash-r1'),
        contractToken('hash-r2', { deviceId: 'device-2' }),
        contractToken('hash-r3', { notificationId: 'notification-2' }),
      ]);
      await ctx.store.timers.schedule({
        id: 'expiry:flow-1',
        kind: 'expiry',
        dueAt: T0 + 60_000,
        flowId: 'flow-1',
        payload: {},
      });
      return flow;
    };
    /** The decision without outgoing entries (no write-back configured): some stores write it in one statement. */
    const quiet = (flow: { version: number }, over: Record<string, unknown> = {}) => {
      const input = accept(flow, over);
      return { ...input, flow: { ...input.flow, emit: [] } };
    };
    const accept = (flow: { version: number }, over: Record<string, unknown> = {}) => ({
      tokenHash: 'hash-r1',
      at: T0 + 5,
      flow: {
        id: 'flow-1',
        expectedVersion: flow.version,
        patch: { state: 'approved', transitions: 1, updatedAt: T0 + 5 },
        emit: [{ consumer: 'iam', orderKey: 'flow-1', event: contractEvent('evt-decided') }],
      },
      revokeNotification: 'notification-1',
      cancelTimers: ['expiry:flow-1'],
      audit: [{ at: T0 + 5, action: 'response.accepted', actor: 'user-1', target: 'notification-1' }],
      ...over,
    });

    it("reads the token, the named device and the token's flow in one call, consuming nothing", async () => {
      await seed();
      const found = await ctx.store.actionTokens.lookup('hash-r1', 'device-1');
      expect(found.token).toEqual({ record: contractToken('hash-r1'), attempts: 0 });
      expect(found.device).toMatchObject({ deviceId: 'device-1', userId: 'user-1', publicKey: 'spki' });
      expect(found.flow).toMatchObject({ id: 'flow-1', state: 'pending', version: 1 });
      expect(await ctx.store.actionTokens.lookup('hash-none', 'device-none')).toEqual({});
      expect((await ctx.store.actionTokens.get('hash-r1'))?.usedAt).toBeUndefined();
    });

    it("reads the user's flow of a kind with the token when asked, null when the user has none", async () => {
      await seed();
      await ctx.store.flows.create(contractFlow('limit-1', 'user-1', { kind: 'limits', data: { unanswered: 2 } }));
      await ctx.store.flows.create(contractFlow('limit-2', 'user-2', { kind: 'limits' }));
      await ctx.store.flows.create(contractFlow('other-1', 'user-1', { kind: 'other' }));
      const found = await ctx.store.actionTokens.lookup('hash-r1', 'device-1', { userFlowKind: 'limits' });
      expect(found.flow).toMatchObject({ id: 'flow-1' });
      expect(found.userFlow).toMatchObject({ id: 'limit-1', kind: 'limits', key: 'user-1', data: { unanswered: 2 } });
      expect(
        (await ctx.store.actionTokens.lookup('hash-r1', 'device-1', { userFlowKind: 'none-yet' })).userFlow,
      ).toBeNull();
      // Not asked for, or no token to name the user: not there at all.
      expect(await ctx.store.actionTokens.lookup('hash-r1', 'device-1')).not.toHaveProperty('userFlow');
      expect(
        await ctx.store.actionTokens.lookup('hash-none', 'device-1', { userFlowKind: 'limits' }),
      ).not.toHaveProperty('userFlow');
    });

    it('applies an accepted response: token spent, flow moved, siblings revoked, timers gone, audit and outgoing written', async () => {
      const flow = await seed();
      const headBefore = await ctx.store.audit.head();
      const result = await ctx.store.actionTokens.applyResponse(accept(flow));
      expect(result).toEqual({ consumed: { status: 'ok', record: contractToken('hash-r1') }, flow: 'moved' });
      expect((await ctx.store.actionTokens.get('hash-r1'))?.usedAt).toBe(T0 + 5);
      expect((await ctx.store.actionTokens.get('hash-r2'))?.revokedAt).toBe(T0 + 5);
      expect((await ctx.store.actionTokens.get('hash-r3'))?.revokedAt).toBeUndefined();
      expect(await ctx.store.flows.get('flow-1')).toMatchObject({ state: 'approved', version: 2, transitions: 1 });
      expect(await ctx.store.timers.claimDue(T0 + 120_000, 10, 1_000)).toEqual([]);
      const head = await ctx.store.audit.head();
      expect(head).toMatchObject({ action: 'response.accepted', seq: (headBefore?.seq ?? 0) + 1 });
      expect(
        (await ctx.store.outgoing.claim({ consumer: 'iam', now: T0 + 10, limit: 10, leaseMs: 1_000 })).map(
          (e) => e.consumer,
        ),
      ).toEqual(['iam']);
    });

    it('applies a response given the record lookup read: the same outcome, the same record back', async () => {
      const flow = await seed();
      const { token } = await ctx.store.actionTokens.lookup('hash-r1', 'device-1');
      const input = { ...quiet(flow), record: token!.record };
      expect(await ctx.store.actionTokens.applyResponse(input)).toEqual({
        consumed: { status: 'ok', record: contractToken('hash-r1') },
        flow: 'moved',
      });
      expect((await ctx.store.actionTokens.get('hash-r1'))?.usedAt).toBe(T0 + 5);
      // A second answer with the same token and record is refused as used, whoever read the record.
      expect((await ctx.store.actionTokens.applyResponse(input)).consumed).toEqual({
        status: 'used',
        record: contractToken('hash-r1'),
      });
    });

    it('applies a decision without outgoing entries the same way', async () => {
      const flow = await seed();
      const result = await ctx.store.actionTokens.applyResponse(quiet(flow));
      expect(result).toEqual({ consumed: { status: 'ok', record: contractToken('hash-r1') }, flow: 'moved' });
      expect((await ctx.store.actionTokens.get('hash-r2'))?.revokedAt).toBe(T0 + 5);
      expect((await ctx.store.actionTokens.get('hash-r3'))?.revokedAt).toBeUndefined();
      expect(await ctx.store.flows.get('flow-1')).toMatchObject({ state: 'approved', version: 2 });
      expect(await ctx.store.timers.claimDue(T0 + 120_000, 10, 1_000)).toEqual([]);
      expect(await ctx.store.audit.head()).toMatchObject({ action: 'response.accepted' });
      const expired = await ctx.store.actionTokens.applyResponse(
        quiet(flow, { tokenHash: 'hash-r3', at: T0 + 60_000 }),
      );
      expect(expired.consumed.status).toBe('expired');
    });

    it('writes nothing but the refusal when the token is used, revoked, expired or unknown', async () => {
      const flow = await seed();
      await ctx.store.actionTokens.consume('hash-r1', T0 + 1);
      const used = await ctx.store.actionTokens.applyResponse(accept(flow));
      expect(used.consumed.status).toBe('used');
      expect(used.flow).toBeUndefined();
      expect((await ctx.store.actionTokens.applyResponse(accept(flow, { tokenHash: 'hash-none' }))).consumed).toEqual({
        status: 'unknown',
      });
      expect(await ctx.store.flows.get('flow-1')).toMatchObject({ state: 'pending', version: 1 });
      expect((await ctx.store.actionTokens.get('hash-r2'))?.revokedAt).toBeUndefined();
      expect((await ctx.store.timers.claimDue(T0 + 120_000, 10, 1_000)).map((t) => t.id)).toEqual(['expiry:flow-1']);
      expect(await ctx.store.outgoing.claim({ consumer: 'iam', now: T0 + 10, limit: 10, leaseMs: 1_000 })).toEqual([]);
    });

    it('keeps the token spent and writes nothing else when the flow version moved on', async () => {
      const flow = await seed();
      await ctx.store.flows.update('flow-1', flow.version, { transitions: 1, updatedAt: T0 + 2 });
      const result = await ctx.store.actionTokens.applyResponse(quiet(flow));
      expect(result).toEqual({ consumed: { status: 'ok', record: contractToken('hash-r1') }, flow: 'conflict' });
      expect((await ctx.store.actionTokens.get('hash-r1'))?.usedAt).toBe(T0 + 5);
      expect((await ctx.store.actionTokens.get('hash-r2'))?.revokedAt).toBeUndefined();
      expect(await ctx.store.flows.get('flow-1')).toMatchObject({ state: 'pending', version: 2 });
      expect(await ctx.store.outgoing.claim({ consumer: 'iam', now: T0 + 10, limit: 10, leaseMs: 1_000 })).toEqual([]);
    });

    it('applies concurrent responses to different flows each once, and one of two answers to the same flow', async () => {
      const flows = [];
      for (let i = 0; i < 5; i++) {
        flows.push((await ctx.store.flows.create(contractFlow(`flow-c${i}`, `key-c${i}`))).flow);
        await ctx.store.actionTokens.put(
          contractToken(`hash-c${i}`, { flowId: `flow-c${i}`, notificationId: `n-c${i}` }),
        );
      }
      await ctx.store.actionTokens.put(
        contractToken('hash-c0-other', { flowId: 'flow-c0', notificationId: 'n-c0', deviceId: 'device-2' }),
      );
      const answer = (hash: string, i: number) => ({
        tokenHash: hash,
        at: T0 + 5,
        flow: { id: `flow-c${i}`, expectedVersion: 1, patch: { state: 'approved', updatedAt: T0 + 5 } },
        revokeNotification: `n-c${i}`,
      });
      const results = await Promise.all([
        ...flows.map((_, i) => ctx.store.actionTokens.applyResponse(answer(`hash-c${i}`, i))),
        ctx.store.actionTokens.applyResponse(answer('hash-c0-other', 0)),
      ]);
      expect(results.slice(1, 5).map((r) => r.flow)).toEqual(['moved', 'moved', 'moved', 'moved']);
      // One answer to flow-c0 moves it; the other either found its token already revoked by the winner, or was
      // consumed at the same moment and found the flow moved on (its token spent, nothing else written).
      const rival = [results[0]!, results[5]!];
      expect(rival.filter((r) => r.flow === 'moved')).toHaveLength(1);
      const loser = rival.find((r) => r.flow !== 'moved')!;
      expect(loser.consumed.status === 'revoked' || (loser.consumed.status === 'ok' && loser.flow === 'conflict')).toBe(
        true,
      );
      for (let i = 0; i < 5; i++) {
        expect(await ctx.store.flows.get(`flow-c${i}`)).toMatchObject({ state: 'approved', version: 2 });
      }
    });

    it('lets exactly one of 10 concurrent responses with one token apply', async () => {
      const flow = await seed();
      const results = await together(10, () => ctx.store.actionTokens.applyResponse(quiet(flow)));
      expect(results.filter((r) => r.flow === 'moved')).toHaveLength(1);
      expect(results.filter((r) => r.consumed.status === 'used')).toHaveLength(9);
      expect(await ctx.store.flows.get('flow-1')).toMatchObject({ state: 'approved', version: 2 });
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
