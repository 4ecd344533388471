import { type EventStore, eventKey, type IdentityEvent, type StoredEvent } from '@idrelay/core';
import { appendAudit } from './audit.js';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';

type Rejected = Awaited<ReturnType<EventStore['listRejected']>>[number];

const toStoredEvent = (row: Row): StoredEvent => ({
  key: text(row.key)!,
  event: JSON.parse(text(row.body)!) as IdentityEvent,
  status: text(row.status) as StoredEvent['status'],
  receivedAt: int(row.received_at)!,
});

/** {@link EventStore} on the `events` and `rejected_events` tables. */
export function createEventStore(context: SqliteContext): EventStore {
  const { statement, run } = context;
  return {
    record: (event, receivedAt, options = {}) =>
      run(() => {
        const key = eventKey(event);
        const insert = () => {
          const result = statement(
            `INSERT INTO events (key, source, id, type, status, received_at, body) VALUES (?, ?, ?, ?, 'received', ?, ?)
             ON CONFLICT (key) DO NOTHING`,
          ).run(key, event.source, event.id, event.type, receivedAt, JSON.stringify(event));
          const inserted = Number(result.changes) === 1;
          if (inserted && options.audit !== undefined && options.audit.length > 0) appendAudit(context, options.audit);
          return { inserted, key };
        };
        return options.audit === undefined ? insert() : context.transaction(insert);
      }),
    get: (key) =>
      run(() => {
        const row = statement('SELECT * FROM events WHERE key = ?').get(key) as Row | undefined;
        return row === undefined ? undefined : toStoredEvent(row);
      }),
    markPlanned: (key, options = {}) =>
      run(() => {
        const mark = () => {
          statement(`UPDATE events SET status = 'planned' WHERE key = ?`).run(key);
          if (options.audit !== undefined && options.audit.length > 0) appendAudit(context, options.audit);
        };
        if (options.audit === undefined) mark();
        else context.transaction(mark);
      }),
    listUnplanned: (limit, options = {}) =>
      run(() =>
        (
          statement(
            `SELECT * FROM events WHERE status = 'received' AND received_at < ? ORDER BY received_at, rowid LIMIT ?`,
          ).all(options.receivedBefore ?? Number.MAX_SAFE_INTEGER, limit) as Row[]
        ).map(toStoredEvent),
      ),
    recordRejected: (rejected) =>
      run(() => {
        statement('INSERT INTO rejected_events (received_at, code, reason, raw) VALUES (?, ?, ?, ?)').run(
          rejected.receivedAt,
          rejected.code,
          rejected.reason,
          rejected.raw,
        );
      }),
    listRejected: (limit) =>
      run(() =>
        (
          statement(
            'SELECT received_at, code, reason, raw FROM rejected_events ORDER BY received_at DESC, id DESC LIMIT ?',
          ).all(limit) as Row[]
        ).map(
          (row): Rejected => ({
            receivedAt: int(row.received_at)!,
            code: text(row.code)!,
            reason: text(row.reason)!,
            raw: text(row.raw)!,
          }),
        ),
      ),
  };
}
