import {
  type ActionTokenRecord,
  AUDIT_GENESIS_HASH,
  type FlowRecord,
  hashAuditEntry,
  isIdrelayError,
  type Store,
  verifyAuditChain,
} from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { Pool } from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();
const T0 = 1_767_225_600_000;

const token = (hash: string, notificationId = 'n-1'): ActionTokenRecord => ({
  tokenHash: hash,
  notificationId,
  userId: 'u-1',
  deviceId: 'd-1',
  actions: ['approve', 'deny'],
  expiresAt: T0 + 60_000,
  createdAt: T0,
});

/** A pending login verification `id` at version 1. */
const flow = (id: string, data: Record<string, unknown> = {}): Omit<FlowRecord, 'version'> => ({
  id,
  kind: 'login-verification',
  definitionVersion: 1,
  key: id,
  state: 'pending',
  data,
  transitions: 0,
  createdAt: T0,
  updatedAt: T0,
});

describe.skipIf(!postgres.available)('PostgreSQL calls arriving together share statements', () => {
  const schemas = testSchemas(postgres.url, 'coalesced');
  let pool: Pool;
  let statements: number;
  let schema: string;
  let one: Store;
  let other: Store;
  beforeEach(async () => {
    schema = schemas.next();
    // Every statement `one` sends, whichever connection it goes on.
    pool = new Pool({ connectionString: postgres.url, max: 4 });
    const counted = new WeakSet<object>();
    pool.on('acquire', (client) => {
      if (counted.has(client)) return;
      counted.add(client);
      const original = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        statements++;
        return original(...args);
      };
    });
    one = await schemas.open({ pool }, schema);
    other = await schemas.open({ maxConnections: 4 }, schema);
    statements = 0;
  });
  afterEach(async () => {
    await one.close();
    await other.close();
    await pool.end();
  });
  afterAll(() => schemas.dropAll());

  it('writes concurrent audit appends in a few statements, one unbroken chain, each call consecutive', async () => {
    const calls = Array.from({ length: 60 }, (_, i) =>
      (i % 3 === 2 ? other : one).audit.append([
        { at: T0 + i, action: 'response.accepted', actor: `u-${i}`, details: { i } },
        { at: T0 + i, action: 'verification.approved', actor: `u-${i}` },
      ]),
    );
    const appended = await Promise.all(calls);
    for (const [i, entries] of appended.entries()) {
      expect(entries.map((e) => e.actor)).toEqual([`u-${i}`, `u-${i}`]);
      expect(entries[1]!.seq).toBe(entries[0]!.seq + 1);
    }
    const chain = await one.audit.list({ limit: 200 });
    expect(chain.map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(verifyAuditChain(chain)).toBeUndefined();
    expect(chain).toEqual(appended.flat().sort((a, b) => a.seq - b.seq));
    // 40 calls through `one`: far fewer statements than calls (a retry after `other` moved the head costs two).
    expect(statements).toBeLessThan(20);
  });

  it('of 10 concurrent consumes of one token through one store and 10 through another, exactly one wins', async () => {
    await one.actionTokens.putMany([token('h-1'), token('h-2')]);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () => one.actionTokens.consume('h-1', T0 + 1)),
      ...Array.from({ length: 10 }, () => other.actionTokens.consume('h-1', T0 + 1)),
      one.actionTokens.consume('h-2', T0 + 1),
      one.actionTokens.consume('h-unknown', T0 + 1),
      one.actionTokens.consume('h-2', T0 + 2),
    ]);
    const first = results.slice(0, 20).map((r) => r.status);
    expect(first.filter((s) => s === 'ok')).toHaveLength(1);
    expect(first.filter((s) => s === 'used')).toHaveLength(19);
    expect(results.slice(20).map((r) => r.status)).toEqual(['ok', 'unknown', 'used']);
    expect(results[20]).toMatchObject({ record: { tokenHash: 'h-2', notificationId: 'n-1' } });
    expect((await one.actionTokens.get('h-1'))?.usedAt).toBe(T0 + 1);
  });

  it('revokes concurrently: each call gets the tokens it revoked, a repeated notification none', async () => {
    await one.actionTokens.putMany([
      token('a-1', 'n-a'),
      token('a-2', 'n-a'),
      token('a-3', 'n-a'),
      token('b-1', 'n-b'),
    ]);
    await one.actionTokens.consume('a-1', T0);
    const counts = await Promise.all([
      one.actionTokens.revokeByNotification('n-a', T0 + 5),
      one.actionTokens.revokeByNotification('n-b', T0 + 5),
      one.actionTokens.revokeByNotification('n-a', T0 + 6),
      one.actionTokens.revokeByNotification('n-none', T0 + 6),
    ]);
    expect(counts).toEqual([2, 1, 0, 0]);
    expect((await one.actionTokens.get('a-1'))?.revokedAt).toBeUndefined();
    expect((await one.actionTokens.get('a-2'))?.revokedAt).toBe(T0 + 5);
    expect((await one.actionTokens.consume('b-1', T0 + 7)).status).toBe('revoked');
  });

  it('updates flows concurrently: of updates at one version exactly one wins, other flows all move', async () => {
    for (const id of ['f-1', 'f-2', 'f-3']) await one.flows.create(flow(id, { n: 0 }));
    // The first update goes alone; the racers queue behind it and go together in the next statement.
    const ahead = one.flows.update('f-2', 1, { transitions: 1, updatedAt: T0 + 9 });
    const racing = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? other : one).flows.update('f-1', 1, { state: `s-${i}`, data: { n: i }, updatedAt: T0 + i }),
      ),
    );
    const won = racing.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of racing)
      if (r.status === 'rejected') expect(isIdrelayError(r.reason, 'ERR_STORE_CONFLICT')).toBe(true);
    const f1 = await one.flows.get('f-1');
    expect(f1).toMatchObject({ version: 2, state: (won[0] as PromiseFulfilledResult<{ state: string }>).value.state });
    const moved = [await ahead, await one.flows.update('f-3', 1, { transitions: 1, updatedAt: T0 + 9 })];
    expect(moved.map((f) => [f.id, f.state, f.data, f.transitions, f.version])).toEqual([
      ['f-2', 'pending', { n: 0 }, 1, 2],
      ['f-3', 'pending', { n: 0 }, 1, 2],
    ]);
  });
  it('applies answers arriving together in one transaction, each whole or not at all', async () => {
    for (let i = 0; i < 12; i++) await one.flows.create(flow(`v-${i}`));
    await one.actionTokens.putMany(
      Array.from({ length: 12 }, (_, i) => ({ ...token(`h-${i}`, `n-${i}`), flowId: `v-${i}` })),
    );
    await one.actionTokens.put(token('sibling-of-0', 'n-0'));
    await one.timers.schedule({
      id: 'expire-v-0',
      kind: 'flow.expire',
      dueAt: T0 + 60_000,
      flowId: 'v-0',
      payload: {},
    });
    const answer = (i: number, details: Record<string, unknown> = { i }) =>
      one.actionTokens.applyResponse({
        tokenHash: `h-${i}`,
        at: T0 + 1,
        flow: {
          id: `v-${i}`,
          expectedVersion: 1,
          patch: { state: 'approved', updatedAt: T0 + 1 },
          emit: [{ consumer: 'iam', orderKey: `v-${i}`, event: { id: `e-${i}` } as never }],
        },
        revokeNotification: `n-${i}`,
        cancelTimers: [`expire-v-${i}`],
        audit: [{ at: T0 + 1, action: 'verification.approved', actor: `u-${i}`, details }],
      });
    await one.audit.append([{ at: T0, action: 'test.start', actor: 'test' }]);
    statements = 0;
    // The six arrive while the first waits for its connection, so they go together: one transaction of five
    // statements (BEGIN with the pinned plans, the call, the outgoing entries' key locks and rows, COMMIT).
    const first = answer(0);
    const together = await Promise.all([1, 2, 3, 4, 5].map((i) => answer(i)));
    expect((await first).flow).toBe('moved');
    expect(together.map((r) => [r.consumed.status, r.flow])).toEqual(Array(5).fill(['ok', 'moved']));
    expect(statements).toBe(5);
    expect((await one.actionTokens.get('sibling-of-0'))?.revokedAt).toBe(T0 + 1);
    expect(await one.timers.claimDue(T0 + 120_000, 10, 1_000)).toEqual([]);
    expect((await one.outgoing.counts()).pending).toBe(6);
    // One answer whose audit entry cannot be stored fails the batch it went in: nothing of it is written, not even
    // its consumed token. The others of that batch fail with it and can be answered again.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    // 6 goes on its own; 7 and 8 arrive together and go in one batch.
    expect((await answer(6)).flow).toBe('moved');
    const batch = await Promise.allSettled([answer(7, cyclic), answer(8)]);
    expect(batch.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    for (const i of [7, 8]) {
      expect((await one.actionTokens.get(`h-${i}`))?.usedAt).toBeUndefined();
      expect((await one.flows.get(`v-${i}`))?.version).toBe(1);
    }
    expect((await answer(8)).flow).toBe('moved');
    const chain = await one.audit.list({ limit: 100 });
    expect(chain.map((e) => e.actor)).toEqual(['test', 'u-0', 'u-1', 'u-2', 'u-3', 'u-4', 'u-5', 'u-6', 'u-8']);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });
  /** An answer of token `h-<i>` moving flow `v-<i>` with nothing to emit (no write-back configured). */
  const quiet = (store: Store, i: number) =>
    store.actionTokens.applyResponse({
      tokenHash: `h-${i}`,
      at: T0 + 1,
      flow: { id: `v-${i}`, expectedVersion: 1, patch: { state: 'approved', updatedAt: T0 + 1 } },
      revokeNotification: `n-${i}`,
      cancelTimers: [`expire-v-${i}`],
      audit: [{ at: T0 + 1, action: 'verification.approved', actor: `u-${i}` }],
    });
  const seedAnswers = async (count: number) => {
    for (let i = 0; i < count; i++) await one.flows.create(flow(`v-${i}`));
    await one.actionTokens.putMany(
      Array.from({ length: count }, (_, i) => ({ ...token(`h-${i}`, `n-${i}`), flowId: `v-${i}` })),
    );
    await one.actionTokens.putMany(Array.from({ length: count }, (_, i) => token(`sibling-${i}`, `n-${i}`)));
  };

  it('applies answers with nothing to emit in one statement per batch, each whole', async () => {
    await seedAnswers(6);
    // The audit head is known from this append: no read of it before the first batch.
    await one.audit.append([{ at: T0, action: 'test.start', actor: 'test' }]);
    statements = 0;
    const first = quiet(one, 0);
    const together = await Promise.all([1, 2, 3, 4, 5].map((i) => quiet(one, i)));
    expect([await first, ...together].map((r) => [r.consumed.status, r.flow])).toEqual(Array(6).fill(['ok', 'moved']));
    // The six arrive while the first waits for its connection: one call for all, no transaction around it.
    expect(statements).toBe(1);
    for (let i = 0; i < 6; i++) expect((await one.actionTokens.get(`sibling-${i}`))?.revokedAt).toBe(T0 + 1);
    const chain = await one.audit.list({ limit: 100 });
    expect(chain.map((e) => e.actor)).toEqual(['test', 'u-0', 'u-1', 'u-2', 'u-3', 'u-4', 'u-5']);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('sends a batch again without the answers that lost a race: a spent token out, a moved flow keeps its token', async () => {
    await seedAnswers(4);
    // Another process got there first: token 1 is spent, flow 2 was decided on another device.
    expect((await other.actionTokens.consume('h-1', T0)).status).toBe('ok');
    await other.flows.update('v-2', 1, { state: 'denied', updatedAt: T0 });
    // The four arrive together and go in one batch; the call is undone and sent again without the losers.
    statements = 0;
    const [first, lostToken, lostFlow, fine] = await Promise.all([0, 1, 2, 3].map((i) => quiet(one, i)));
    expect(first?.flow).toBe('moved');
    expect(statements).toBeGreaterThanOrEqual(2);
    expect(lostToken).toMatchObject({ consumed: { status: 'used' } });
    expect(lostToken?.flow).toBeUndefined();
    expect(lostFlow).toMatchObject({ consumed: { status: 'ok' }, flow: 'conflict' });
    expect(fine).toMatchObject({ consumed: { status: 'ok' }, flow: 'moved' });
    // The conflicted answer spent its token and wrote nothing else: its siblings live, no audit entry of its own.
    expect((await one.actionTokens.get('h-2'))?.usedAt).toBe(T0 + 1);
    expect((await one.actionTokens.get('sibling-2'))?.revokedAt).toBeUndefined();
    expect((await one.flows.get('v-2'))?.state).toBe('denied');
    expect((await one.actionTokens.get('sibling-1'))?.revokedAt).toBeUndefined();
    expect((await one.actionTokens.get('sibling-3'))?.revokedAt).toBe(T0 + 1);
    const chain = await one.audit.list({ limit: 100 });
    expect(chain.map((e) => e.actor)).toEqual(['u-0', 'u-3']);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('chains a batch after the head another process moved meanwhile, in the same call', async () => {
    await seedAnswers(2);
    await one.audit.append([{ at: T0, action: 'test.start', actor: 'test' }]);
    expect((await quiet(one, 0)).flow).toBe('moved');
    // Another process appends: this store's idea of the head is stale, which costs its answers nothing.
    await other.audit.append([{ at: T0, action: 'test.elsewhere', actor: 'other' }]);
    statements = 0;
    expect((await quiet(one, 1)).flow).toBe('moved');
    expect(statements).toBe(1);
    // And this store's own appends chain after the head the answer left.
    await one.audit.append([{ at: T0, action: 'test.end', actor: 'test' }]);
    const chain = await one.audit.list({ limit: 100 });
    expect(chain.map((e) => e.actor)).toEqual(['test', 'u-0', 'other', 'u-1', 'test']);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('hashes entries in the database exactly as hashAuditEntry does, whatever they hold', async () => {
    await seedAnswers(1);
    const entry = {
      at: T0 + 1,
      action: 'verification.approved',
      actor: 'ü-1 "quoted" \\ back',
      eventRef: 'evt-1',
      target: 'v-0',
      details: { note: 'é, 😀, \u2028, tab\t', nested: { seq: -1, b: [1, null, 'x'] }, seq: 'inner' },
    };
    const result = await one.actionTokens.applyResponse({
      tokenHash: 'h-0',
      at: T0 + 1,
      flow: { id: 'v-0', expectedVersion: 1, patch: { state: 'approved', updatedAt: T0 + 1 } },
      audit: [entry, { at: T0 + 1, action: 'response.accepted', actor: 'u-0' }],
    });
    expect(result.flow).toBe('moved');
    const chain = await one.audit.list({ limit: 10 });
    expect(chain).toHaveLength(2);
    expect(chain[0]).toMatchObject({ ...entry, seq: 1, prevHash: AUDIT_GENESIS_HASH });
    expect(chain[0]!.hash).toBe(hashAuditEntry(1, AUDIT_GENESIS_HASH, entry));
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('applies the answers of two processes at once as one unbroken chain, every answer whole', async () => {
    await seedAnswers(40);
    await one.audit.append([{ at: T0, action: 'test.start', actor: 'test' }]);
    // Even answers through one store, odd through the other: their calls overlap in everything but the head.
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => quiet(i % 2 === 0 ? one : other, i)));
    expect(results.every((r) => r.consumed.status === 'ok' && r.flow === 'moved')).toBe(true);
    for (let i = 0; i < 40; i++) expect((await one.actionTokens.get(`sibling-${i}`))?.revokedAt).toBe(T0 + 1);
    const chain = await one.audit.list({ limit: 100 });
    expect(chain).toHaveLength(41);
    expect(new Set(chain.map((e) => e.actor)).size).toBe(41);
    expect(verifyAuditChain(chain)).toBeUndefined();
  });

  it('on a pool of two connections, answers and other store work meanwhile all go through', async () => {
    await seedAnswers(12);
    const small = await schemas.open({ maxConnections: 2 }, schema);
    try {
      const answered = Array.from({ length: 12 }, (_, i) => quiet(small, i));
      // Other store work meanwhile is not stuck behind the answers' connections.
      await small.audit.append([{ at: T0, action: 'test.meanwhile', actor: 'test' }]);
      const results = await Promise.all(answered);
      expect(results.every((r) => r.flow === 'moved')).toBe(true);
      expect(verifyAuditChain(await small.audit.list({ limit: 100 }))).toBeUndefined();
    } finally {
      await small.close();
    }
  });

  it('two devices answering one request through two processes at once: one decides, no deadlock stall', async () => {
    for (let round = 0; round < 8; round++) {
      const id = `v-race-${round}`;
      await one.flows.create(flow(id));
      const tokens = ['iphone', 'browser'].map((device) => ({
        ...token(`${id}-${device}`, `n-${id}`),
        deviceId: device,
        flowId: id,
      }));
      await one.actionTokens.putMany(tokens);
      const started = performance.now();
      const results = await Promise.all(
        [one, other].map((store, i) =>
          store.actionTokens.applyResponse({
            tokenHash: tokens[i]!.tokenHash,
            at: T0 + 1,
            flow: { id, expectedVersion: 1, patch: { state: 'approved', updatedAt: T0 + 1 } },
            revokeNotification: `n-${id}`,
            audit: [{ at: T0 + 1, action: 'verification.approved', actor: `device-${i}` }],
          }),
        ),
      );
      // Each waited at most for the other's short transaction, never for PostgreSQL's deadlock detection (1 s).
      expect(performance.now() - started).toBeLessThan(900);
      // The loser either consumed its token and lost the flow, or found it revoked by the winner's commit.
      const outcomes = results.map((r) => (r.flow === undefined ? r.consumed.status : r.flow)).sort();
      expect([
        ['conflict', 'moved'],
        ['moved', 'revoked'],
      ]).toContainEqual(outcomes);
      expect((await one.flows.get(id))?.version).toBe(2);
    }
    expect(verifyAuditChain(await one.audit.list({ limit: 100 }))).toBeUndefined();
  });
});
