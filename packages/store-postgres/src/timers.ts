import type { TimerRecord, TimerStore } from '@idrelay/core';
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

/** {@link TimerStore} on the `timers` table. A completed or cancelled timer is deleted. */
export function createTimerStore(context: PgContext): TimerStore {
  const { query } = context;
  const timers = context.table('timers');
  const deleteIds = async (ids: readonly string[]): Promise<void> => {
    if (ids.length === 0) return;
    await query(`DELETE FROM ${timers} WHERE id = ANY($1::text[])`, [ids]);
  };
  return {
    schedule: async (timer) => {
      // Rescheduling moves the timer and drops any lease: the new due time starts afresh.
      await query(
        `INSERT INTO ${timers} (id, kind, due_at, ready_at, flow_id, payload, lease_until)
         VALUES ($1, $2, $3, $3, $4, $5, NULL)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at, ready_at = excluded.ready_at,
           flow_id = excluded.flow_id, payload = excluded.payload, lease_until = NULL`,
        [timer.id, timer.kind, timer.dueAt, timer.flowId ?? null, JSON.stringify(timer.payload)],
      );
    },
    claimDue: async (now, limit, leaseMs) => {
      if (limit <= 0) return [];
      const { rows } = await query(
        `UPDATE ${timers} SET lease_until = $2, ready_at = $2
         WHERE id IN (
           SELECT id FROM ${timers} WHERE ready_at <= $1 ORDER BY ready_at, id LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now, now + leaseMs, Math.trunc(limit)],
      );
      return rows.map(toTimer).sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },
    complete: deleteIds,
    cancel: deleteIds,
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
