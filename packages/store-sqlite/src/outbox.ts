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

const toDelivery = (row: Row): Delivery => {
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
    message: JSON.parse(text(row.message)!) as PushMessage,
    target: JSON.parse(text(row.target)!) as DeviceTarget,
    priority: int(row.priority)!,
    status: text(row.status) as OutboxStatus,
    attempts: int(row.attempts)!,
    createdAt: int(row.created_at)!,
    updatedAt: int(row.updated_at)!,
  };
  const leaseUntil = int(row.lease_until);
  const lastError = fromJson<Delivery['lastError']>(row.last_error);
  const providerMessageId = text(row.provider_message_id);
  if (leaseUntil !== undefined) delivery.leaseUntil = leaseUntil;
  if (lastError !== undefined) delivery.lastError = lastError;
  if (providerMessageId !== undefined) delivery.providerMessageId = providerMessageId;
  return delivery;
};

/** Claim order: highest priority, then earliest due, then oldest. `RETURNING` promises no order, so we sort. */
const claimOrder = (a: Delivery, b: Delivery): number =>
  (b.priority ?? 0) - (a.priority ?? 0) || a.dueAt - b.dueAt || Number(a.id) - Number(b.id);

const INSERT = `INSERT INTO deliveries (idempotency_key, event_key, notification_id, rule_id, user_id, device_id, platform,
    status, priority, due_at, attempts, message, target, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, 0, ?, ?, ?, ?)
  ON CONFLICT (idempotency_key) DO NOTHING`;

/** @internal A crashed worker's claim goes back to pending once its lease ends; the partial index keeps it cheap. */
export const RELEASE_EXPIRED = `UPDATE deliveries INDEXED BY deliveries_lease SET status = 'pending', lease_until = NULL
  WHERE status = 'claimed' AND lease_until <= ?`;

/**
 * @internal `status = 'pending'` is written as a literal so the planner can use the partial index
 * `deliveries_ready`, which walks rows already in claim order: no sort, and the scan stops after `LIMIT` rows.
 */
export const claimSql = (byPlatform: boolean): string => `UPDATE deliveries
  SET status = 'claimed', attempts = attempts + 1, lease_until = ?, updated_at = ?
  WHERE id IN (
    SELECT id FROM deliveries INDEXED BY deliveries_ready
    WHERE status = 'pending' AND due_at <= ?${byPlatform ? ' AND platform IN (SELECT value FROM json_each(?))' : ''}
    ORDER BY priority DESC, due_at, id LIMIT ?)
  RETURNING *`;

const SETTLE_DELIVERED = `UPDATE deliveries SET status = 'delivered', lease_until = NULL, provider_message_id = ?,
    updated_at = ? WHERE id = ? AND status = 'claimed'`;
const SETTLE_RETRY = `UPDATE deliveries SET status = 'pending', lease_until = NULL, due_at = ?, last_error = ?,
    updated_at = ? WHERE id = ? AND status = 'claimed'`;
const SETTLE_FINAL = `UPDATE deliveries SET status = ?, lease_until = NULL, last_error = ?, updated_at = ?
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
        statement(SETTLE_RETRY).run(outcome.dueAt, JSON.stringify(outcome.error), outcome.at, id);
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
        return transaction(() => {
          let inserted = 0;
          for (const d of deliveries) {
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
              JSON.stringify(d.message),
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
        return transaction(() => {
          statement(RELEASE_EXPIRED).run(now);
          const rows =
            platforms === undefined
              ? statement(claimSql(false)).all(now + leaseMs, now, now, limit)
              : statement(claimSql(true)).all(now + leaseMs, now, now, JSON.stringify(platforms), limit);
          return (rows as Row[]).map(toDelivery).sort(claimOrder);
        });
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
            `UPDATE deliveries SET status = 'cancelled', lease_until = NULL, updated_at = ?
               WHERE notification_id = ? AND status IN ('pending', 'claimed')`,
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
        (statement('SELECT * FROM deliveries WHERE event_key = ? ORDER BY id').all(eventKey) as Row[]).map(toDelivery),
      ),
    nextDueAt: () =>
      run(() => {
        const row = statement(
          `SELECT (SELECT min(due_at) FROM deliveries WHERE status = 'pending') AS due,
                  (SELECT min(lease_until) FROM deliveries INDEXED BY deliveries_lease WHERE status = 'claimed') AS lease`,
        ).get() as Row;
        const candidates = [int(row.due), int(row.lease)].filter((v): v is number => v !== undefined);
        return candidates.length === 0 ? undefined : Math.min(...candidates);
      }),
    counts: () =>
      run(() => {
        const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<OutboxStatus, number>;
        const rows = statement('SELECT status, count(*) AS n FROM deliveries GROUP BY status').all() as Row[];
        for (const row of rows) counts[text(row.status) as OutboxStatus] = int(row.n) ?? 0;
        return counts;
      }),
  };
}
