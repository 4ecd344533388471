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
 * @internal One statement per group of rows that share everything but the device (a fan-out page is one group):
 * the devices travel as one JSON array of ids and SQLite joins it to live devices itself, so unregistered and
 * removed devices are skipped and the device ref and platform come from the device row. With one prepared INSERT
 * per row the rate halves (node:sqlite's per-call cost); with every field of every row in the JSON it halves too
 * (SQLite extracts each field per row). `?7` holds `[deviceId, data]` pairs instead when rows carry data.
 */
export const INSERT_DELIVERIES = insertFrom(`j.value`, 'NULL');
/** @internal {@link INSERT_DELIVERIES} for rows with per-device data. */
export const INSERT_DELIVERIES_WITH_DATA = insertFrom(`j.value ->> 0`, `j.value ->> 1`);

function insertFrom(deviceId: string, data: string): string {
  return `INSERT INTO deliveries (notification_ref, device_ref, message_ref, platform, status, priority, due_at,
    ready_at, expires_at, attempts, data, created_at, updated_at)
  SELECT ?1, v.id, ?2, v.platform, ${DELIVERY_STATUS.pending}, ?3, ?4, ?4, ?5, 0, ${data}, ?6, ?6
  FROM json_each(?7) AS j JOIN devices v ON v.device_id = ${deviceId} AND v.removed_at IS NULL
  WHERE true
  ON CONFLICT DO NOTHING`;
}

/** Consecutive rows of a slice that one INSERT takes: the same message, priority, due time and expiry. */
interface Group {
  params: [notificationRef: number, messageRef: number, priority: number, dueAt: number, expiresAt: number | null];
  devices: unknown[];
  withData: boolean;
}

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
      // Consecutive rows with the same fields form one group; order is kept, so of two rows for one (notification,
      // device) in a batch the first is inserted and the second skipped, as if inserted one by one.
      const groups: Group[] = [];
      let group: Group | undefined;
      let groupKey = '';
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
        const priority = Math.trunc(d.priority ?? 0);
        const expiresAt = d.expiresAt ?? null;
        const withData = d.data !== undefined;
        const rowKey = `${messageRef} ${priority} ${d.dueAt} ${expiresAt} ${withData}`;
        if (group === undefined || rowKey !== groupKey) {
          group = { params: [notificationRef, messageRef, priority, d.dueAt, expiresAt], devices: [], withData };
          groupKey = rowKey;
          groups.push(group);
        }
        group.devices.push(withData ? [d.deviceId, d.data] : d.deviceId);
      }
      let inserted = 0;
      for (const { params, devices, withData } of groups) {
        const insert = statement(withData ? INSERT_DELIVERIES_WITH_DATA : INSERT_DELIVERIES);
        inserted += Number(insert.run(...params, now, JSON.stringify(devices)).changes);
      }
      return inserted;
    });
  };
}
