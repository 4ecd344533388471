import type {
  Delivery,
  DeliveryOutcome,
  DeviceTarget,
  NewDelivery,
  OutboxStatus,
  OutboxStore,
  Platform,
  PushMessage,
} from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { fromJson, int, text } from './driver.js';

const STATUSES: readonly OutboxStatus[] = ['pending', 'claimed', 'delivered', 'failed', 'dead', 'cancelled'];

/**
 * A row as a {@link Delivery}. A row just claimed comes without the columns the claim itself decided (status,
 * lease, update time, and a provider id no claimable row has): materialising fewer columns is most of what makes
 * a claim cheaper, so `claimed` supplies them instead.
 */
const toDelivery = (
  row: Row,
  claimed?: { leaseUntil: number; now: number; messages: Map<string, PushMessage> },
): Delivery => {
  const status = claimed === undefined ? (text(row.status) as OutboxStatus) : 'claimed';
  const delivery: Delivery = {
    id: String(row.id),
    idempotencyKey: text(row.idempotency_key)!,
    eventKey: text(row.event_key)!,
    notificationId: text(row.notification_id)!,
    ruleId: text(row.rule_id)!,
    userId: text(row.user_id)!,
    deviceId: text(row.device_id)!,
    platform: text(row.platform) as Platform,
    dueAt: int(row.due_at)!,
    message:
      claimed === undefined ? (JSON.parse(text(row.message)!) as PushMessage) : cachedMessage(row, claimed.messages),
    target: JSON.parse(text(row.target)!) as DeviceTarget,
    priority: int(row.priority)!,
    status,
    attempts: int(row.attempts)!,
    createdAt: int(row.created_at)!,
    updatedAt: claimed?.now ?? int(row.updated_at)!,
  };
  const leaseUntil = claimed?.leaseUntil ?? (status === 'claimed' ? int(row.ready_at) : undefined);
  const lastError = fromJson<Delivery['lastError']>(row.last_error);
  const providerMessageId = claimed === undefined ? text(row.provider_message_id) : undefined;
  if (leaseUntil !== undefined) delivery.leaseUntil = leaseUntil;
  if (lastError !== undefined) delivery.lastError = lastError;
  if (providerMessageId !== undefined) delivery.providerMessageId = providerMessageId;
  return delivery;
};

/**
 * Deliveries of one notification carry the same rendered message per locale, and a claimed batch is mostly one
 * notification: parse each distinct message text once per claim and share the object (the engine never mutates it;
 * per-device data lives in the target). Parsing was a fifth of dispatch CPU before.
 */
function cachedMessage(row: Row, messages: Map<string, PushMessage>): PushMessage {
  const json = text(row.message)!;
  let message = messages.get(json);
  if (message === undefined) {
    message = JSON.parse(json) as PushMessage;
    messages.set(json, message);
  }
  return message;
}

/** Claim order: highest priority, then earliest due, then oldest. `RETURNING` promises no order, so we sort. */
const claimOrder = (a: Delivery, b: Delivery): number =>
  (b.priority ?? 0) - (a.priority ?? 0) || a.dueAt - b.dueAt || Number(a.id) - Number(b.id);

const INSERT = `INSERT INTO deliveries (idempotency_key, event_key, notification_id, rule_id, user_id, device_id, platform,
    status, priority, due_at, ready_at, attempts, message, target, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?)
  ON CONFLICT (idempotency_key) DO NOTHING`;

/**
 * @internal One scan of `deliveries_ready` finds both due pending rows and claims whose lease ran out (a crashed
 * worker's): `ready_at` is the due time of the one and the lease end of the other. The index is already in claim
 * order, so there is no sort and the scan stops after `LIMIT` rows.
 */
export const claimSql = (byPlatform: boolean): string => `UPDATE deliveries
  SET status = 'claimed', attempts = attempts + 1, ready_at = ?, updated_at = ?
  WHERE id IN (
    SELECT id FROM deliveries INDEXED BY deliveries_ready
    WHERE ready_at <= ?${byPlatform ? ' AND platform IN (SELECT value FROM json_each(?))' : ''}
    ORDER BY priority DESC, ready_at, id LIMIT ?)
  RETURNING id, idempotency_key, event_key, notification_id, rule_id, user_id, device_id, platform, priority, due_at,
    attempts, message, target, last_error, created_at`;

/**
 * @internal The earliest `ready_at`, without reading every live row: the index leads with `priority`, so this
 * visits each priority level (a handful) and takes the first `ready_at` in each — a loose index scan.
 */
export const NEXT_READY = `WITH RECURSIVE levels (priority) AS (
    SELECT (SELECT priority FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            ORDER BY priority DESC, ready_at LIMIT 1)
    UNION ALL
    SELECT (SELECT priority FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            AND priority < levels.priority ORDER BY priority DESC, ready_at LIMIT 1)
    FROM levels WHERE levels.priority IS NOT NULL)
  SELECT min((SELECT ready_at FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
              AND priority = levels.priority ORDER BY priority DESC, ready_at LIMIT 1)) AS next
  FROM levels WHERE levels.priority IS NOT NULL`;

// Every settle checks `status = 'claimed'`: an outcome for a delivery cancelled, settled or never claimed is a no-op.
const SETTLE_DELIVERED = `UPDATE deliveries SET status = 'delivered', ready_at = NULL, provider_message_id = ?,
    updated_at = ? WHERE id = ? AND status = 'claimed'`;
const SETTLE_RETRY = `UPDATE deliveries SET status = 'pending', due_at = ?, ready_at = ?, last_error = ?,
    updated_at = ? WHERE id = ? AND status = 'claimed'`;
const SETTLE_FINAL = `UPDATE deliveries SET status = ?, ready_at = NULL, last_error = ?, updated_at = ?
    WHERE id = ? AND status = 'claimed'`;

/** {@link OutboxStore} on the `deliveries` table: the truth about every delivery. */
export function createOutboxStore(context: SqliteContext): OutboxStore {
  const { statement, run, transaction } = context;

  const settleOne = (outcome: DeliveryOutcome): void => {
    const id = Number(outcome.id);
    if (!Number.isSafeInteger(id)) return;
    switch (outcome.status) {
      case 'delivered':
        statement(SETTLE_DELIVERED).run(outcome.providerMessageId ?? null, outcome.at, id);
        return;
      case 'retry':
        statement(SETTLE_RETRY).run(outcome.dueAt, outcome.dueAt, JSON.stringify(outcome.error), outcome.at, id);
        return;
      case 'failed':
      case 'dead':
        statement(SETTLE_FINAL).run(outcome.status, JSON.stringify(outcome.error), outcome.at, id);
        return;
    }
  };

  return {
    enqueue: (deliveries: readonly NewDelivery[]) =>
      run(() => {
        if (deliveries.length === 0) return { inserted: 0 };
        const insert = statement(INSERT);
        const now = context.now();
        // A fan-out hands the same message object to every device: serialise it once per run of equal objects.
        let lastMessage: unknown;
        let lastMessageJson = '';
        return transaction(() => {
          let inserted = 0;
          for (const d of deliveries) {
            if (d.message !== lastMessage) {
              lastMessage = d.message;
              lastMessageJson = JSON.stringify(d.message);
            }
            const result = insert.run(
              d.idempotencyKey,
              d.eventKey,
              d.notificationId,
              d.ruleId,
              d.userId,
              d.deviceId,
              d.platform,
              d.priority ?? 0,
              d.dueAt,
              d.dueAt,
              lastMessageJson,
              JSON.stringify(d.target),
              now,
              now,
            );
            inserted += Number(result.changes);
          }
          return { inserted };
        });
      }),
    claim: ({ limit, now, leaseMs, platforms }) =>
      run(() => {
        if (limit <= 0 || platforms?.length === 0) return [];
        // One statement: node:sqlite runs it to completion before any other call, so claims never overlap.
        const rows =
          platforms === undefined
            ? statement(claimSql(false)).all(now + leaseMs, now, now, limit)
            : statement(claimSql(true)).all(now + leaseMs, now, now, JSON.stringify(platforms), limit);
        const claimed = { leaseUntil: now + leaseMs, now, messages: new Map<string, PushMessage>() };
        return (rows as Row[]).map((row) => toDelivery(row, claimed)).sort(claimOrder);
      }),
    settle: (outcomes) =>
      run(() => {
        if (outcomes.length === 0) return;
        transaction(() => {
          for (const outcome of outcomes) settleOne(outcome);
        });
      }),
    cancelByNotification: (notificationId, at) =>
      run(() =>
        Number(
          statement(
            `UPDATE deliveries SET status = 'cancelled', ready_at = NULL, updated_at = ?
               WHERE notification_id = ? AND ready_at IS NOT NULL`,
          ).run(at, notificationId).changes,
        ),
      ),
    get: (id) =>
      run(() => {
        const rowId = Number(id);
        if (!Number.isSafeInteger(rowId)) return undefined;
        const row = statement('SELECT * FROM deliveries WHERE id = ?').get(rowId) as Row | undefined;
        return row === undefined ? undefined : toDelivery(row);
      }),
    listByEvent: (eventKey) =>
      run(() =>
        (statement('SELECT * FROM deliveries WHERE event_key = ? ORDER BY id').all(eventKey) as Row[]).map((row) =>
          toDelivery(row),
        ),
      ),
    nextDueAt: () =>
      run(() => {
        const row = statement(NEXT_READY).get() as Row | undefined;
        return int(row?.next);
      }),
    counts: () =>
      run(() => {
        const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<OutboxStatus, number>;
        // A table scan: there is deliberately no index on status (see migration 1). Fine for metrics and health.
        const rows = statement('SELECT status, count(*) AS n FROM deliveries GROUP BY status').all() as Row[];
        for (const row of rows) counts[text(row.status) as OutboxStatus] = int(row.n) ?? 0;
        return counts;
      }),
  };
}
