import type { NewDelivery, OutboxStatus, OutboxStore } from '@idrelay/core';
import type { Row, SqliteContext } from '../driver.js';
import { int } from '../driver.js';
import { DELIVERY_STATUS, DELIVERY_STATUS_NAME } from '../status-codes.js';
import { createClaim } from './claim.js';
import { createEnqueue } from './enqueue.js';
import { createResolver, DELIVERY_COLUMNS, DEVICE_COLUMNS } from './resolve.js';
import { createSettle } from './settle.js';

/**
 * @internal The earliest `ready_at` without reading every live row: for each platform, each priority level (a
 * handful) and the first `ready_at` in it — a loose index scan of `deliveries_ready`.
 */
export const NEXT_READY = `WITH RECURSIVE
  platforms (name) AS (
    SELECT (SELECT platform FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            ORDER BY platform LIMIT 1)
    UNION ALL
    SELECT (SELECT platform FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            AND platform > platforms.name ORDER BY platform LIMIT 1)
    FROM platforms WHERE platforms.name IS NOT NULL),
  levels (platform, priority) AS (
    SELECT name, (SELECT priority FROM deliveries INDEXED BY deliveries_ready WHERE platform = name
                  AND ready_at IS NOT NULL ORDER BY priority DESC LIMIT 1)
    FROM platforms WHERE name IS NOT NULL
    UNION ALL
    SELECT platform, (SELECT priority FROM deliveries INDEXED BY deliveries_ready WHERE platform = levels.platform
                      AND priority < levels.priority AND ready_at IS NOT NULL ORDER BY priority DESC LIMIT 1)
    FROM levels WHERE levels.priority IS NOT NULL)
  SELECT min((SELECT ready_at FROM deliveries INDEXED BY deliveries_ready WHERE platform = levels.platform
              AND priority = levels.priority AND ready_at IS NOT NULL ORDER BY ready_at LIMIT 1)) AS next
  FROM levels WHERE levels.priority IS NOT NULL`;

const WITH_DEVICE = `SELECT ${DELIVERY_COLUMNS}, ${DEVICE_COLUMNS} FROM deliveries d JOIN devices v ON v.id = d.device_ref`;

/**
 * {@link OutboxStore} on the normalised outbox: `deliveries` rows of integer refs to `notifications`, `messages`
 * (one per notification and variant) and `devices` (whose current address a claim reads).
 */
export function createOutboxStore(context: SqliteContext): OutboxStore {
  const { statement, run } = context;
  const enqueue = createEnqueue(context);
  const claim = createClaim(context);
  const { settle, extendLease } = createSettle(context);

  const withDevice = (rows: Row[]) => {
    const toDelivery = createResolver(context);
    return rows.map((row) => toDelivery(row, row));
  };

  return {
    enqueue: async (deliveries: readonly NewDelivery[]) => {
      if (deliveries.length === 0) return run(() => ({ inserted: 0 }));
      return { inserted: await enqueue(deliveries) };
    },
    claim: (options) => context.runAsync(() => claim(options)),
    extendLease: (ids, claimToken, leaseUntil) => run(() => extendLease(ids, claimToken, leaseUntil)),
    settle: (outcomes) => run(() => settle(outcomes)),
    cancelByNotification: (notificationId, at) =>
      run(() =>
        Number(
          statement(
            `UPDATE deliveries SET status = ${DELIVERY_STATUS.cancelled}, ready_at = NULL, updated_at = ?
             WHERE notification_ref = (SELECT id FROM notifications WHERE notification_id = ?) AND ready_at IS NOT NULL`,
          ).run(at, notificationId).changes,
        ),
      ),
    get: (id) =>
      run(() => {
        const rowId = Number(id);
        if (!Number.isSafeInteger(rowId)) return undefined;
        return withDevice(statement(`${WITH_DEVICE} WHERE d.id = ?`).all(rowId) as Row[])[0];
      }),
    listByEvent: (eventKey) =>
      run(() =>
        withDevice(
          statement(
            `${WITH_DEVICE} WHERE d.notification_ref IN (SELECT id FROM notifications WHERE event_key = ?) ORDER BY d.id`,
          ).all(eventKey) as Row[],
        ),
      ),
    nextDueAt: () =>
      run(() => {
        const row = statement(NEXT_READY).get() as Row | undefined;
        return int(row?.next);
      }),
    counts: () =>
      run(() => {
        const counts = Object.fromEntries(DELIVERY_STATUS_NAME.map((status) => [status, 0])) as Record<
          OutboxStatus,
          number
        >;
        // A table scan: there is deliberately no index on status (every index a status change touches costs each
        // delivery b-tree writes over its life). Fine for metrics and health, not per delivery.
        const rows = statement('SELECT status, count(*) AS n FROM deliveries GROUP BY status').all() as Row[];
        for (const row of rows) counts[DELIVERY_STATUS_NAME[int(row.status)!]!] = int(row.n) ?? 0;
        return counts;
      }),
  };
}
