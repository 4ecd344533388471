import type { OutboxStatus, OutboxStore } from '@idrelay/core';
import type { PgContext } from '../context.js';
import { num, rowId, str } from '../context.js';
import { createClaim, levels, livePlatforms } from './claim.js';
import { createEnqueue } from './enqueue.js';
import { DELIVERY_COLUMNS, DEVICE_COLUMNS, toDeliveries } from './resolve.js';
import { createSettle } from './settle.js';

const STATUSES: readonly OutboxStatus[] = ['pending', 'claimed', 'delivered', 'failed', 'dead', 'cancelled', 'expired'];

/**
 * The earliest `ready_at` without reading every live row: for each platform and each of its priority levels (a
 * handful), the first `ready_at` in `deliveries_ready`.
 */
export function nextDueStatement(context: PgContext): string {
  const deliveries = context.table('deliveries');
  return `WITH RECURSIVE ${livePlatforms(deliveries)}, ${levels(deliveries, '(SELECT name FROM platforms WHERE name IS NOT NULL)', '-2147483648')}
    SELECT min((SELECT min(ready_at) FROM ${deliveries} WHERE platform = l.platform AND priority = l.priority
      AND ready_at IS NOT NULL)) AS next
    FROM levels l WHERE l.priority IS NOT NULL`;
}

/**
 * {@link OutboxStore} on the normalised outbox: `deliveries` rows of integer refs to `notifications`, `messages`
 * (one per notification and variant) and `devices` (whose current address a claim reads), shared by every
 * process. Claims use `FOR UPDATE SKIP LOCKED` and a fencing token from `claim_tokens`.
 */
export function createOutboxStore(context: PgContext): OutboxStore {
  const { query } = context;
  const deliveries = context.table('deliveries');
  const withDevice = `SELECT ${DELIVERY_COLUMNS}, ${DEVICE_COLUMNS} FROM ${deliveries} d
    JOIN ${context.table('devices')} v ON v.id = d.device_ref`;
  const enqueue = createEnqueue(context);
  const claim = createClaim(context);
  const { settle, extendLease } = createSettle(context);
  const nextDue = nextDueStatement(context);

  return {
    enqueue: async (items) => ({ inserted: await enqueue(items) }),
    claim,
    extendLease,
    settle,
    cancelByNotification: async (notificationId, at) => {
      const result = await query(
        `UPDATE ${deliveries} SET status = 'cancelled', ready_at = NULL, updated_at = $2
         WHERE notification_ref = (SELECT id FROM ${context.table('notifications')} WHERE notification_id = $1)
           AND ready_at IS NOT NULL`,
        [notificationId, at],
      );
      return result.rowCount ?? 0;
    },
    get: async (id) => {
      context.assertOpen();
      if (rowId(id) === undefined) return undefined;
      const { rows } = await query(`${withDevice} WHERE d.id = $1`, [id]);
      return (await toDeliveries(context, rows))[0];
    },
    listByEvent: async (eventKey) => {
      const { rows } = await query(
        `${withDevice} WHERE d.notification_ref IN (
           SELECT id FROM ${context.table('notifications')} WHERE event_key = $1) ORDER BY d.id`,
        [eventKey],
      );
      return toDeliveries(context, rows);
    },
    nextDueAt: async () => {
      const { rows } = await query(nextDue);
      return num(rows[0]?.next);
    },
    counts: async () => {
      const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<OutboxStatus, number>;
      // A table scan: an index on status would be rewritten by every claim and settle. For metrics, not per call.
      const { rows } = await query(`SELECT status, count(*) AS n FROM ${deliveries} GROUP BY status`);
      for (const row of rows) counts[str(row.status) as OutboxStatus] = num(row.n) ?? 0;
      return counts;
    },
  };
}
