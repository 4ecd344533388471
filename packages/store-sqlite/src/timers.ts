import type { TimerRecord, TimerStore } from '@idrelay/core';
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

/** {@link TimerStore} on the `timers` table. A completed or cancelled timer is deleted. */
export function createTimerStore(context: SqliteContext): TimerStore {
  const { statement, run, transaction } = context;
  const deleteIds = (ids: readonly string[]): void => {
    if (ids.length === 0) return;
    statement('DELETE FROM timers WHERE id IN (SELECT value FROM json_each(?))').run(JSON.stringify(ids));
  };
  return {
    schedule: (timer) =>
      run(() => {
        // Rescheduling moves the timer and drops any lease: the new due time starts afresh.
        statement(
          `INSERT INTO timers (id, kind, due_at, flow_id, payload, lease_until) VALUES (?, ?, ?, ?, ?, NULL)
           ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, flow_id = excluded.flow_id,
             payload = excluded.payload, lease_until = NULL`,
        ).run(timer.id, timer.kind, timer.dueAt, timer.flowId ?? null, JSON.stringify(timer.payload));
      }),
    claimDue: (now, limit, leaseMs) =>
      run(() => {
        if (limit <= 0) return [];
        return transaction(() =>
          (
            statement(
              `UPDATE timers SET lease_until = ?
               WHERE id IN (
                 SELECT id FROM timers WHERE due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
                 ORDER BY due_at, id LIMIT ?)
               RETURNING *`,
            ).all(now + leaseMs, now, now, limit) as Row[]
          )
            .map(toTimer)
            .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : 1)),
        );
      }),
    complete: (ids) => run(() => deleteIds(ids)),
    cancel: (ids) => run(() => deleteIds(ids)),
    cancelByFlow: (flowId) => run(() => Number(statement('DELETE FROM timers WHERE flow_id = ?').run(flowId).changes)),
    nextDueAt: () =>
      run(() => {
        // A leased timer is next due when its lease ends, if it is not completed before.
        const row = statement('SELECT min(max(due_at, coalesce(lease_until, 0))) AS next FROM timers').get() as Row;
        return int(row.next);
      }),
  };
}
