import { type AuditStore, type EventStore, eventKey, type IdentityEvent, type StoredEvent } from '@idrelay/core';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

type Rejected = Awaited<ReturnType<EventStore['listRejected']>>[number];

const toStoredEvent = (row: Row): StoredEvent => ({
  key: str(row.key)!,
  event: row.body as IdentityEvent,
  status: str(row.status) as StoredEvent['status'],
  receivedAt: num(row.received_at)!,
});

/** {@link EventStore} on the `events` and `rejected_events` tables. */
export function createEventStore(context: PgContext, audit: Pick<AuditStore, 'append'>): EventStore {
  const { query } = context;
  const events = context.table('events');
  const rejected = context.table('rejected_events');
  return {
    record: async (event, receivedAt, options = {}) => {
      const key = eventKey(event);
      const result = await query(
        `INSERT INTO ${events} (key, source, id, type, status, received_at, body)
         VALUES ($1, $2, $3, $4, 'received', $5, $6) ON CONFLICT (key) DO NOTHING`,
        [key, event.source, event.id, event.type, receivedAt, JSON.stringify(event)],
      );
      const inserted = result.rowCount === 1;
      // The audit chain is group-committed (audit.ts): the entry follows in the next shared round trip.
      if (inserted && options.audit !== undefined && options.audit.length > 0) await audit.append(options.audit);
      return { inserted, key };
    },
    get: async (key) => {
      const { rows } = await query(`SELECT * FROM ${events} WHERE key = $1`, [key]);
      return rows[0] === undefined ? undefined : toStoredEvent(rows[0]);
    },
    markPlanned: async (key, options = {}) => {
      await query(`UPDATE ${events} SET status = 'planned' WHERE key = $1`, [key]);
      if (options.audit !== undefined && options.audit.length > 0) await audit.append(options.audit);
    },
    listUnplanned: async (limit, options = {}) => {
      // `events_unplanned` (received_at, key) WHERE status = 'received' serves both forms.
      const { rows } = await query(
        `SELECT * FROM ${events} WHERE status = 'received' AND received_at < $2 ORDER BY received_at, key LIMIT $1`,
        [Math.max(0, Math.trunc(limit)), options.receivedBefore ?? Number.MAX_SAFE_INTEGER],
      );
      return rows.map(toStoredEvent);
    },
    recordRejected: async (entry) => {
      await query(`INSERT INTO ${rejected} (received_at, code, reason, raw) VALUES ($1, $2, $3, $4)`, [
        entry.receivedAt,
        entry.code,
        entry.reason,
        entry.raw,
      ]);
    },
    listRejected: async (limit) => {
      const { rows } = await query(
        `SELECT received_at, code, reason, raw FROM ${rejected} ORDER BY received_at DESC, id DESC LIMIT $1`,
        [Math.max(0, limit)],
      );
      return rows.map(
        (row): Rejected => ({
          receivedAt: num(row.received_at)!,
          code: str(row.code)!,
          reason: str(row.reason)!,
          raw: str(row.raw)!,
        }),
      );
    },
  };
}
