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
import { integerArray, textArray } from './array-literal.js';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

const STATUSES: readonly OutboxStatus[] = ['pending', 'claimed', 'delivered', 'failed', 'dead', 'cancelled'];

/**
 * Rows per INSERT. unnest arrays of 1,000–10,000 rows were measured at 120,000–170,000 rows/s against ~40,000
 * for multi-row VALUES (shared/notes/toolchain.md); 5,000 keeps one statement's parameters to a few MB.
 */
const ENQUEUE_BATCH = 5_000;

const toDelivery = (row: Row): Delivery => {
  const delivery: Delivery = {
    id: String(row.id),
    idempotencyKey: str(row.idempotency_key)!,
    eventKey: str(row.event_key)!,
    notificationId: str(row.notification_id)!,
    ruleId: str(row.rule_id)!,
    userId: str(row.user_id)!,
    deviceId: str(row.device_id)!,
    platform: str(row.platform) as Platform,
    dueAt: num(row.due_at)!,
    message: row.message as PushMessage,
    target: row.target as DeviceTarget,
    priority: num(row.priority)!,
    status: str(row.status) as OutboxStatus,
    attempts: num(row.attempts)!,
    createdAt: num(row.created_at)!,
    updatedAt: num(row.updated_at)!,
  };
  const leaseUntil = num(row.lease_until);
  const code = str(row.last_error_code);
  const reason = str(row.last_error_reason);
  const providerMessageId = str(row.provider_message_id);
  if (leaseUntil !== undefined) delivery.leaseUntil = leaseUntil;
  if (code !== undefined) delivery.lastError = reason === undefined ? { code } : { code, reason };
  if (providerMessageId !== undefined) delivery.providerMessageId = providerMessageId;
  return delivery;
};

/** Ids are bigint strings: shorter is smaller, then compare as text. */
const compareIds = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** Claim order: highest priority, then earliest due, then oldest. `RETURNING` promises no order, so we sort. */
const claimOrder = (a: Delivery, b: Delivery): number =>
  (b.priority ?? 0) - (a.priority ?? 0) || a.dueAt - b.dueAt || compareIds(a.id, b.id);

/**
 * Planner settings for the claim and settle statements, local to their transaction. Both have one good plan —
 * walk `deliveries_ready` in claim order and stop after `LIMIT` rows; look settled ids up by primary key — but
 * right after a large enqueue, before autovacuum has analysed the table, the planner's row estimates are far too
 * small and it picks a bitmap scan plus sort (every live row read, per claim) or a hash join over every claimed
 * row. Measured on 50,000 deliveries: 230 ms of a 300 ms claim went to that sort.
 */
const ONE_PLAN = `SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off;
  SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`;

/** A delivery id as this store writes it: a positive `bigint`; anything else names no delivery. */
const ID = /^[0-9]{1,18}$/;

const LIVE = `status IN ('pending', 'claimed')`;

/** The outbox statements, with the schema filled in once per store. */
function statements(table: string) {
  const claim = (byPlatform: boolean) => `UPDATE ${table}
    SET status = 'claimed', attempts = attempts + 1, lease_until = $2, ready_at = $2, updated_at = $1
    WHERE id IN (
      SELECT id FROM ${table}
      WHERE ${LIVE} AND ready_at <= $1${byPlatform ? ' AND platform = ANY($4::text[])' : ''}
      ORDER BY priority DESC, ready_at, id
      LIMIT $3
      -- Rows another worker is claiming right now are skipped, not waited for: no two claims overlap.
      FOR UPDATE SKIP LOCKED)
    RETURNING *`;
  return {
    // Column arrays rather than a row list: one parse and plan per batch whatever its size. Messages and targets
    // travel as one newline-joined string each, split on the server: JSON.stringify never emits a raw newline,
    // and it spares node-postgres escaping every quote of every document into an array literal, which cost
    // about twice the client CPU of the whole insert (decisions/0021).
    insert: `INSERT INTO ${table} (idempotency_key, event_key, notification_id, rule_id, user_id, device_id, platform,
        status, priority, due_at, ready_at, attempts, message, target, created_at, updated_at)
      SELECT k, e, n, r, u, d, p, 'pending', pr, due, due, 0, m::json, t::json, $12, $12
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[],
        $9::bigint[], string_to_array($10, E'\\n'), string_to_array($11, E'\\n')) AS x(k, e, n, r, u, d, p, pr, due, m, t)
      ON CONFLICT (idempotency_key) DO NOTHING`,
    claimAll: claim(false),
    claimPlatforms: claim(true),
    // One statement settles a whole batch, whatever mix of outcomes it holds; a delivery no longer claimed
    // (cancelled meanwhile) is left alone.
    settle: `UPDATE ${table} AS d SET status = o.status, lease_until = NULL,
        due_at = coalesce(o.due_at, d.due_at), ready_at = coalesce(o.due_at, d.ready_at),
        last_error_code = CASE WHEN o.code IS NULL THEN d.last_error_code ELSE o.code END,
        last_error_reason = CASE WHEN o.code IS NULL THEN d.last_error_reason ELSE o.reason END,
        provider_message_id = coalesce(o.provider_message_id, d.provider_message_id), updated_at = o.at
      FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::bigint[])
        AS o(id, status, due_at, code, reason, provider_message_id, at)
      WHERE d.id = o.id AND d.status = 'claimed'`,
    // The earliest ready time is the minimum over priorities of each priority's first index entry; walking the
    // few distinct priorities (a loose index scan) costs a handful of index probes instead of a scan of every
    // live row.
    nextDue: `WITH RECURSIVE p(priority) AS (
        SELECT max(priority) FROM ${table} WHERE ${LIVE}
        UNION ALL
        SELECT (SELECT max(priority) FROM ${table} WHERE ${LIVE} AND priority < p.priority)
        FROM p WHERE p.priority IS NOT NULL
      )
      SELECT min((SELECT min(ready_at) FROM ${table} WHERE ${LIVE} AND priority = p.priority)) AS next
      FROM p WHERE p.priority IS NOT NULL`,
  };
}

/** {@link OutboxStore} on the `deliveries` table: the truth about every delivery, shared by every worker. */
export function createOutboxStore(context: PgContext): OutboxStore {
  const { query } = context;
  const table = context.table('deliveries');
  const sql = statements(table);

  const insertBatch = async (batch: readonly NewDelivery[], now: number): Promise<number> => {
    const column = <T>(pick: (item: NewDelivery) => T): T[] => batch.map(pick);
    // The engine renders a message once per locale and hands the same object to every device it goes to.
    const texts = new Map<PushMessage, string>();
    const messageText = (message: PushMessage): string => {
      const known = texts.get(message);
      if (known !== undefined) return known;
      const text = JSON.stringify(message);
      texts.set(message, text);
      return text;
    };
    const result = await query(sql.insert, [
      textArray(column((item) => item.idempotencyKey)),
      textArray(column((item) => item.eventKey)),
      textArray(column((item) => item.notificationId)),
      textArray(column((item) => item.ruleId)),
      textArray(column((item) => item.userId)),
      textArray(column((item) => item.deviceId)),
      textArray(column((item) => item.platform)),
      integerArray(column((item) => Math.trunc(item.priority ?? 0))),
      integerArray(column((item) => Math.trunc(item.dueAt))),
      column((item) => messageText(item.message)).join('\n'),
      column((item) => JSON.stringify(item.target)).join('\n'),
      now,
    ]);
    return result.rowCount ?? 0;
  };

  return {
    enqueue: async (deliveries) => {
      const now = context.now();
      let inserted = 0;
      for (let start = 0; start < deliveries.length; start += ENQUEUE_BATCH) {
        inserted += await insertBatch(deliveries.slice(start, start + ENQUEUE_BATCH), now);
      }
      return { inserted };
    },
    claim: async ({ limit, now, leaseMs, platforms }) => {
      if (limit <= 0 || platforms?.length === 0) return [];
      const values = [now, now + leaseMs, Math.trunc(limit)];
      const { rows } = await context.transaction(
        (tx) => (platforms === undefined ? tx(sql.claimAll, values) : tx(sql.claimPlatforms, [...values, platforms])),
        ONE_PLAN,
      );
      return rows.map(toDelivery).sort(claimOrder);
    },
    settle: async (outcomes) => {
      const valid = outcomes.filter((o) => ID.test(o.id));
      if (valid.length === 0) return;
      const failure = (o: DeliveryOutcome) => (o.status === 'delivered' ? undefined : o.error);
      const values = [
        valid.map((o) => o.id),
        valid.map((o) => (o.status === 'retry' ? 'pending' : o.status)),
        valid.map((o) => (o.status === 'retry' ? o.dueAt : null)),
        valid.map((o) => failure(o)?.code ?? null),
        valid.map((o) => failure(o)?.reason ?? null),
        valid.map((o) => (o.status === 'delivered' ? (o.providerMessageId ?? null) : null)),
        valid.map((o) => o.at),
      ];
      await context.transaction((tx) => tx(sql.settle, values), ONE_PLAN);
    },
    cancelByNotification: async (notificationId, at) => {
      const result = await query(
        `UPDATE ${table} SET status = 'cancelled', lease_until = NULL, updated_at = $2
         WHERE notification_id = $1 AND ${LIVE}`,
        [notificationId, at],
      );
      return result.rowCount ?? 0;
    },
    get: async (id) => {
      if (!ID.test(id)) return undefined;
      const { rows } = await query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      return rows[0] === undefined ? undefined : toDelivery(rows[0]);
    },
    listByEvent: async (eventKey) => {
      const { rows } = await query(`SELECT * FROM ${table} WHERE event_key = $1 ORDER BY id`, [eventKey]);
      return rows.map(toDelivery);
    },
    nextDueAt: async () => {
      const { rows } = await query(sql.nextDue);
      return num(rows[0]?.next);
    },
    counts: async () => {
      const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<OutboxStatus, number>;
      const { rows } = await query(`SELECT status, count(*) AS n FROM ${table} GROUP BY status`);
      for (const row of rows) counts[str(row.status) as OutboxStatus] = num(row.n) ?? 0;
      return counts;
    },
  };
}
