import type { ClaimedTimer, TimerRecord, TimerStore } from '@idrelay/core';
import { integerArray, textArray } from './array-literal.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

const toTimer = (row: Row): TimerRecord => {
  const timer: TimerRecord = {
    id: str(row.id)!,
    kind: str(row.kind)!,
    dueAt: num(row.due_at)!,
    payload: row.payload as Record<string, unknown>,
  };
  const flowId = str(row.flow_id);
  if (flowId !== undefined) timer.flowId = flowId;
  return timer;
};

/**
 * {@link TimerStore} on the `timers` table. `ready_at` is the due time, or the lease end while a process holds the
 * timer; claims are fenced like the outbox's, with a token from `claim_tokens`. A completed or cancelled timer is
 * deleted; scheduling an id again moves the timer and ends any claim on it.
 */
export function createTimerStore(context: PgContext): TimerStore {
  const { query } = context;
  const timers = context.table('timers');
  // Cancels arriving together (every decided flow cancels its timers) share one DELETE.
  const cancel = coalesce<readonly string[], void>(async (calls) => {
    await query(`DELETE FROM ${timers} WHERE id = ANY($1::text[])`, [textArray(calls.flat())]);
    return calls.map(() => undefined);
  });
  return {
    schedule: async (timer) => {
      await query(
        `INSERT INTO ${timers} (id, kind, due_at, ready_at, flow_id, payload, lease_until, claim_token)
         VALUES ($1, $2, $3, $3, $4, $5, NULL, NULL)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, ready_at = excluded.ready_at,
           flow_id = excluded.flow_id, payload = excluded.payload, lease_until = NULL, claim_token = NULL`,
        [timer.id, timer.kind, timer.dueAt, timer.flowId ?? null, JSON.stringify(timer.payload)],
      );
    },
    claimDue: async (now, limit, leaseMs) => {
      if (limit <= 0) {
        context.assertOpen();
        return [];
      }
      // Timers another process is claiming right now are skipped, not waited for; one token for the whole claim.
      const { rows } = await query(
        `WITH token AS MATERIALIZED (SELECT nextval('${context.table('claim_tokens')}') AS value)
         UPDATE ${timers} SET lease_until = $2, ready_at = $2, claim_token = token.value
         FROM token
         WHERE id IN (
           SELECT id FROM ${timers} WHERE ready_at <= $1 ORDER BY ready_at, id LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING ${timers}.*`,
        [now, now + leaseMs, Math.trunc(limit)],
      );
      return rows
        .map((row): ClaimedTimer => ({ ...toTimer(row), claimToken: num(row.claim_token)!, leaseUntil: now + leaseMs }))
        .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    complete: async (claims) => {
      if (claims.length === 0) {
        context.assertOpen();
        return { settled: 0, stale: [] };
      }
      const { rows } = await query(
        `DELETE FROM ${timers} t USING unnest($1::text[], $2::bigint[]) AS c(id, token)
         WHERE t.id = c.id AND t.claim_token = c.token RETURNING t.id`,
        [textArray(claims.map((c) => c.id)), integerArray(claims.map((c) => Math.trunc(c.claimToken)))],
      );
      const done = new Set(rows.map((row) => str(row.id)!));
      return { settled: done.size, stale: claims.filter((c) => !done.has(c.id)).map((c) => c.id) };
    },
    cancel: async (ids) => {
      if (ids.length === 0) return context.assertOpen();
      await cancel(ids);
    },
    cancelByFlow: async (flowId) => {
      const result = await query(`DELETE FROM ${timers} WHERE flow_id = $1`, [flowId]);
      return result.rowCount ?? 0;
    },
    nextDueAt: async () => {
      // A leased timer is next due when its lease ends, if it is not completed before.
      const { rows } = await query(`SELECT min(ready_at) AS next FROM ${timers}`);
      return num(rows[0]?.next);
    },
  };
}
