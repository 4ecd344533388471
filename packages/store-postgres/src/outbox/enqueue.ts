import type { NewDelivery, PushMessage } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import { integerArray, textArray } from '../array-literal.js';
import type { PgContext, Query } from '../context.js';
import { num, str } from '../context.js';

/**
 * Rows per INSERT. unnest arrays of 1,000–10,000 rows were measured at 120,000–170,000 rows/s against ~40,000
 * for multi-row VALUES (shared/notes/toolchain.md); 5,000 keeps one statement's parameters to a few hundred KB.
 */
const ENQUEUE_BATCH = 5_000;

/** How often the interning statement runs again when a concurrent enqueue created a notification meanwhile. */
const INTERN_ATTEMPTS = 5;

/**
 * The statements of an enqueue, for one schema.
 *
 * `intern` finds or creates each notification and each (notification, variant) message of the call in one round
 * trip; it inserts only what it did not find, so identity values are drawn for new rows alone. A notification a
 * concurrent enqueue created after this statement's snapshot is neither found nor inserted (`ON CONFLICT DO
 * NOTHING`): the caller sees it missing and runs the statement again.
 *
 * `insert` resolves device ids to refs in SQL: a device that is not registered, or was removed, yields no row;
 * `ON CONFLICT DO NOTHING` on `deliveries_pair` skips pairs already enqueued, in earlier calls or in this one.
 */
export function enqueueStatements(context: PgContext) {
  const notifications = context.table('notifications');
  const messages = context.table('messages');
  const deliveries = context.table('deliveries');
  const devices = context.table('devices');
  return {
    intern: `WITH n_in AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS x(nid, event_key, rule_id)),
      n_new AS (
        INSERT INTO ${notifications} (notification_id, event_key, rule_id, created_at)
        SELECT nid, event_key, rule_id, $7 FROM n_in
        WHERE NOT EXISTS (SELECT 1 FROM ${notifications} n WHERE n.notification_id = n_in.nid)
        ON CONFLICT (notification_id) DO NOTHING
        RETURNING id, notification_id),
      n_all AS (
        SELECT n.id, n.notification_id FROM ${notifications} n WHERE n.notification_id IN (SELECT nid FROM n_in)
        UNION ALL SELECT id, notification_id FROM n_new),
      m_in AS (SELECT * FROM unnest($4::text[], $5::text[], $6::text[]) AS x(nid, variant, body)),
      m_new AS (
        INSERT INTO ${messages} (notification_ref, variant, body, created_at)
        SELECT a.id, m_in.variant, m_in.body::json, $7 FROM m_in JOIN n_all a ON a.notification_id = m_in.nid
        WHERE NOT EXISTS (SELECT 1 FROM ${messages} m WHERE m.notification_ref = a.id AND m.variant = m_in.variant)
        ON CONFLICT (notification_ref, variant) DO NOTHING
        RETURNING id, notification_ref, variant)
      SELECT a.notification_id, NULL AS variant, a.id FROM n_all a
      UNION ALL
      SELECT a.notification_id, m.variant, m.id FROM ${messages} m
        JOIN n_all a ON a.id = m.notification_ref JOIN m_in ON m_in.nid = a.notification_id AND m_in.variant = m.variant
      UNION ALL
      SELECT a.notification_id, m.variant, m.id FROM m_new m JOIN n_all a ON a.id = m.notification_ref`,
    // LIMIT 1 keeps the device lookup a loop of index probes: given thousands of names, the planner would
    // otherwise hash the whole devices table for every batch (measured 120 of 160 ms per 5,000 rows).
    insert: `INSERT INTO ${deliveries} (due_at, ready_at, expires_at, created_at, updated_at, notification_ref,
        device_ref, message_ref, priority, attempts, status, platform, data)
      SELECT x.due_at, x.due_at, x.expires_at, $8, $8, x.n, v.id, x.m, x.priority, 0, 'pending', v.platform,
        nullif(x.data, '')::json
      FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], string_to_array($7, E'\\n'))
        AS x(device_id, n, m, priority, due_at, expires_at, data)
      CROSS JOIN LATERAL (SELECT id, platform FROM ${devices} v WHERE v.device_id = x.device_id
        AND v.removed_at IS NULL LIMIT 1) v
      ON CONFLICT DO NOTHING`,
  };
}

const pairKey = (notificationId: string, variant: string) => `${notificationId}\0${variant}`;

/**
 * The outbox's enqueue: interns the call's notifications and messages (each distinct one once), then inserts the
 * deliveries in batches of {@link ENQUEUE_BATCH}, each batch one statement and one commit.
 */
export function createEnqueue(context: PgContext) {
  const sql = enqueueStatements(context);

  /** Refs of every notification and (notification, variant) message of `deliveries`, created where missing. */
  const intern = async (deliveries: readonly NewDelivery[], now: number, query: Query) => {
    const notifications = new Map<string, NewDelivery>();
    const messages = new Map<string, { notificationId: string; variant: string; message: PushMessage }>();
    for (const d of deliveries) {
      if (!notifications.has(d.notificationId)) notifications.set(d.notificationId, d);
      const variant = d.variant ?? '';
      const key = pairKey(d.notificationId, variant);
      // The first copy of a variant wins, here as in the table.
      if (!messages.has(key)) messages.set(key, { notificationId: d.notificationId, variant, message: d.message });
    }
    const wanted = [...notifications.values()];
    const rendered = [...messages.values()];
    const values = [
      textArray(wanted.map((d) => d.notificationId)),
      textArray(wanted.map((d) => d.eventKey)),
      textArray(wanted.map((d) => d.ruleId)),
      textArray(rendered.map((m) => m.notificationId)),
      textArray(rendered.map((m) => m.variant)),
      textArray(rendered.map((m) => JSON.stringify(m.message))),
      now,
    ];
    for (let attempt = 1; ; attempt++) {
      const { rows } = await query(sql.intern, values);
      const notificationRefs = new Map<string, number>();
      const messageRefs = new Map<string, number>();
      for (const row of rows) {
        const variant = str(row.variant);
        if (variant === undefined) notificationRefs.set(str(row.notification_id)!, num(row.id)!);
        else messageRefs.set(pairKey(str(row.notification_id)!, variant), num(row.id)!);
      }
      if (notificationRefs.size === notifications.size && messageRefs.size === messages.size) {
        return { notificationRefs, messageRefs };
      }
      if (attempt === INTERN_ATTEMPTS) {
        throw new IdrelayError(
          'ERR_STORE_CONFLICT',
          `Concurrent enqueues kept changing notifications on ${context.name}.`,
          {
            details: { attempts: attempt },
          },
        );
      }
    }
  };

  const insertBatch = async (
    batch: readonly NewDelivery[],
    refs: Awaited<ReturnType<typeof intern>>,
    now: number,
  ): Promise<number> => {
    const withData = batch.some((d) => d.data !== undefined);
    const result = await context.query(sql.insert, [
      textArray(batch.map((d) => d.deviceId)),
      integerArray(batch.map((d) => refs.notificationRefs.get(d.notificationId)!)),
      integerArray(batch.map((d) => refs.messageRefs.get(pairKey(d.notificationId, d.variant ?? ''))!)),
      integerArray(batch.map((d) => Math.trunc(d.priority ?? 0))),
      integerArray(batch.map((d) => Math.trunc(d.dueAt))),
      integerArray(batch.map((d) => (d.expiresAt === undefined ? null : Math.trunc(d.expiresAt)))),
      // JSON.stringify never emits a raw newline, so newline-joined documents split back exactly on the server.
      withData ? batch.map((d) => (d.data === undefined ? '' : JSON.stringify(d.data))).join('\n') : null,
      now,
    ]);
    return result.rowCount ?? 0;
  };

  return async (deliveries: readonly NewDelivery[]): Promise<number> => {
    context.assertOpen();
    if (deliveries.length === 0) return 0;
    const now = context.now();
    const refs = await intern(deliveries, now, context.query);
    let inserted = 0;
    for (let start = 0; start < deliveries.length; start += ENQUEUE_BATCH) {
      inserted += await insertBatch(deliveries.slice(start, start + ENQUEUE_BATCH), refs, now);
    }
    return inserted;
  };
}
