import type { NewDelivery } from '@idrelay/core';
import type { Row, SqliteContext } from '../driver.js';
import { int } from '../driver.js';
import { DELIVERY_STATUS } from '../status-codes.js';

/**
 * Rows per transaction. A fan-out page of 5,000 deliveries inserted at once holds the event loop for ~15–25 ms;
 * in slices of this size each holds it for a few, and the others' work (a sign-in verification) runs in between.
 * Measured in decisions/0022: slices of 1,000 cost ~5–10% of throughput against one transaction per 5,000.
 */
export const ENQUEUE_SLICE = 1_000;

/**
 * @internal One statement per slice: the slice travels as one JSON array (`[deviceId, notificationRef, messageRef,
 * priority, dueAt, expiresAt, data]` per row) and SQLite joins it to live devices itself, so unregistered and removed
 * devices are skipped and the device ref and platform come from the device row. ~1.7× the rate of one prepared
 * INSERT per row: the per-call cost of node:sqlite is paid once per slice.
 */
export const INSERT_DELIVERIES = `INSERT INTO deliveries (notification_ref, device_ref, message_ref, platform, status,
    priority, due_at, ready_at, expires_at, attempts, data, created_at, updated_at)
  SELECT j.value ->> 1, v.id, j.value ->> 2, v.platform, ${DELIVERY_STATUS.pending}, j.value ->> 3, j.value ->> 4,
    j.value ->> 4, j.value ->> 5, 0, j.value ->> 6, ?1, ?1
  FROM json_each(?2) AS j JOIN devices v ON v.device_id = j.value ->> 0 AND v.removed_at IS NULL
  WHERE true
  ON CONFLICT DO NOTHING`;

/**
 * The enqueue of one call: notifications and messages are interned once per distinct key for the whole call (a
 * fan-out hands the same message object to every device, so it is serialised once), then each slice is inserted.
 */
export function createEnqueue(context: SqliteContext) {
  const { statement } = context;

  const internNotification = (d: NewDelivery, now: number): number => {
    const found = statement('SELECT id FROM notifications WHERE notification_id = ?').get(d.notificationId) as
      | Row
      | undefined;
    if (found !== undefined) return int(found.id)!;
    const row = statement(
      'INSERT INTO notifications (notification_id, event_key, rule_id, created_at) VALUES (?, ?, ?, ?) RETURNING id',
    ).get(d.notificationId, d.eventKey, d.ruleId, now) as Row;
    return int(row.id)!;
  };

  /** The first copy stored for a (notification, variant) wins; later ones are not even serialised. */
  const internMessage = (notificationRef: number, d: NewDelivery, now: number): number => {
    const variant = d.variant ?? '';
    const found = statement('SELECT id FROM messages WHERE notification_ref = ? AND variant = ?').get(
      notificationRef,
      variant,
    ) as Row | undefined;
    if (found !== undefined) return int(found.id)!;
    const row = statement(
      'INSERT INTO messages (notification_ref, variant, body, created_at) VALUES (?, ?, ?, ?) RETURNING id',
    ).get(notificationRef, variant, JSON.stringify(d.message), now) as Row;
    return int(row.id)!;
  };

  return (deliveries: readonly NewDelivery[]): Promise<number> => {
    const now = context.now();
    const notificationRefs = new Map<string, number>();
    const messageRefs = new Map<string, number>();
    return context.runSliced(deliveries, ENQUEUE_SLICE, (slice) => {
      const rows: unknown[] = [];
      for (const d of slice) {
        let notificationRef = notificationRefs.get(d.notificationId);
        if (notificationRef === undefined) {
          notificationRef = internNotification(d, now);
          notificationRefs.set(d.notificationId, notificationRef);
        }
        const key = `${d.notificationId}\0${d.variant ?? ''}`;
        let messageRef = messageRefs.get(key);
        if (messageRef === undefined) {
          messageRef = internMessage(notificationRef, d, now);
          messageRefs.set(key, messageRef);
        }
        rows.push([
          d.deviceId,
          notificationRef,
          messageRef,
          Math.trunc(d.priority ?? 0),
          d.dueAt,
          d.expiresAt ?? null,
          d.data ?? null,
        ]);
      }
      return Number(statement(INSERT_DELIVERIES).run(now, JSON.stringify(rows)).changes);
    });
  };
}
