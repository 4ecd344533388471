import type { ClaimedTimer, TimerRecord, TimerStore } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';

const toTimer = (row: Row): TimerRecord => {
  const timer: TimerRecord = {
    id: text(row.id)!,
    kind: text(row.kind)!,
    dueAt: int(row.due_at)!,
    payload: JSON.parse(text(row.payload)!) as Record<string, unknown>,
  };
  const flowId = text(row.flow_id);
  if (flowId !== undefined) timer.flowId = flowId;
  return timer;
};

/** @internal Due timers: `ready_at` is the due time, or the lease end while claimed, so leased timers wait. */
export const CLAIM_TIMERS =
  'SELECT id FROM timers INDEXED BY timers_ready WHERE ready_at <= ? ORDER BY ready_at, id LIMIT ?';

/**
 * {@link TimerStore} on the `timers` table. A claim gives each timer a lease and the claim's fencing token; only
 * that token completes (deletes) it, and scheduling the id again moves it and ends the claim.
 */
export function createTimerStore(context: SqliteContext): TimerStore {
  const { statement, run, transaction } = context;
  const deleteIds = (ids: readonly string[]): void => {
    if (ids.length === 0) return;
    statement('DELETE FROM timers WHERE id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids));
  };
  return {
    schedule: (timer) =>
      run(() => {
        statement(
          `INSERT INTO timers (id, kind, due_at, flow_id, payload, ready_at, claim_token) VALUES (?, ?, ?, ?, ?, ?, NULL)
           ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, flow_id = excluded.flow_id,
             payload = excluded.payload, ready_at = excluded.ready_at, claim_token = NULL`,
        ).run(timer.id, timer.kind, timer.dueAt, timer.flowId ?? null, JSON.stringify(timer.payload), timer.dueAt);
      }),
    claimDue: (now, limit, leaseMs) =>
      run(() => {
        if (limit <= 0) return [];
        const ids = (statement(CLAIM_TIMERS).all(now, limit) as Row[]).map((row) => text(row.id)!);
        if (ids.length === 0) return [];
        const claimToken = context.nextClaimToken();
        const leaseUntil = now + leaseMs;
        const rows = transaction(
          () =>
            statement(
              `UPDATE timers SET ready_at = ?, claim_token = ? WHERE id IN (SELECT value FROM json_each(?)) RETURNING *`,
            ).all(leaseUntil, claimToken, JSON.stringify(ids)) as Row[],
        );
        return rows
          .map((row): ClaimedTimer => ({ ...toTimer(row), claimToken, leaseUntil }))
          .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1));
      }),
    complete: (claims) =>
      run(() => {
        const stale: string[] = [];
        let settled = 0;
        if (claims.length === 0) return { settled, stale };
        transaction(() => {
          const remove = statement('DELETE FROM timers WHERE id = ? AND claim_token = ?');
          for (const { id, claimToken } of claims) {
            if (Number(remove.run(id, claimToken).changes) > 0) settled++;
            else stale.push(id);
          }
        });
        return { settled, stale };
      }),
    cancel: (ids) => run(() => deleteIds(ids)),
    cancelByFlow: (flowId) => run(() => Number(statement('DELETE FROM timers WHERE flow_id = ?').run(flowId).changes)),
    nextDueAt: () =>
      run(() => {
        const row = statement('SELECT min(ready_at) AS next FROM timers').get() as Row;
        return int(row.next);
      }),
  };
}
