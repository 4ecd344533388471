import type {
  IdentityEvent,
  OutgoingEntry,
  OutgoingInput,
  OutgoingOutcome,
  OutgoingStatus,
  OutgoingStore,
} from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { fromJson, int, text } from './driver.js';
import { OUTGOING_STATUS, OUTGOING_STATUS_NAME } from './status-codes.js';

const { pending: PENDING, claimed: CLAIMED, delivered: DELIVERED, dead: DEAD } = OUTGOING_STATUS;
/** The partial index `outgoing_live` holds exactly these rows; queries repeat its condition so SQLite uses it. */
const LIVE = `status IN (${PENDING}, ${CLAIMED})`;

const toEntry = (row: Row): OutgoingEntry => {
  const status = OUTGOING_STATUS_NAME[int(row.status)!]!;
  const entry: OutgoingEntry = {
    id: String(row.id),
    consumer: text(row.consumer)!,
    orderKey: text(row.order_key)!,
    event: JSON.parse(text(row.event)!) as IdentityEvent,
    status,
    attempts: int(row.attempts)!,
    dueAt: int(row.due_at)!,
    createdAt: int(row.created_at)!,
    updatedAt: int(row.updated_at)!,
  };
  const claimToken = int(row.claim_token);
  const lastError = fromJson<OutgoingEntry['lastError']>(row.last_error);
  if (claimToken !== undefined) entry.claimToken = claimToken;
  if (status === 'claimed') entry.leaseUntil = int(row.ready_at)!;
  if (lastError !== undefined) entry.lastError = lastError;
  return entry;
};

/**
 * @internal The head of a (consumer, order key) is its oldest live entry; only heads carry `ready_at`, so
 * `outgoing_ready` holds what a claim may take and nothing that waits behind its head.
 */
export const CLAIM_OUTGOING = `SELECT id FROM outgoing INDEXED BY outgoing_ready
  WHERE consumer = ? AND ready_at <= ? ORDER BY ready_at LIMIT ?`;

/** @internal The oldest live entry of one (consumer, order key). */
export const HEAD_OF_KEY = `SELECT id, ready_at FROM outgoing INDEXED BY outgoing_live
  WHERE consumer = ? AND order_key = ? AND ${LIVE} ORDER BY id LIMIT 1`;

/** @internal The earliest `ready_at` over every consumer: one seek per consumer (a loose index scan). */
export const NEXT_OUTGOING = `WITH RECURSIVE consumers (name) AS (
    SELECT (SELECT consumer FROM outgoing INDEXED BY outgoing_ready WHERE ready_at IS NOT NULL ORDER BY consumer LIMIT 1)
    UNION ALL
    SELECT (SELECT consumer FROM outgoing INDEXED BY outgoing_ready WHERE ready_at IS NOT NULL AND consumer > consumers.name
            ORDER BY consumer LIMIT 1)
    FROM consumers WHERE consumers.name IS NOT NULL)
  SELECT min((SELECT ready_at FROM outgoing INDEXED BY outgoing_ready WHERE consumer = consumers.name
              AND ready_at IS NOT NULL ORDER BY ready_at LIMIT 1)) AS next
  FROM consumers WHERE consumers.name IS NOT NULL`;

/**
 * Appends `entries` due at `at`, inside the caller's transaction: an entry is the head of its key (and gets a
 * `ready_at`) when no live entry of the same consumer and key is there before it.
 */
export function appendOutgoing(context: SqliteContext, entries: readonly OutgoingInput[] | undefined, at: number) {
  if (entries === undefined || entries.length === 0) return;
  const head = context.statement(HEAD_OF_KEY);
  const insert = context.statement(
    `INSERT INTO outgoing (consumer, order_key, event, status, attempts, due_at, ready_at, created_at, updated_at)
     VALUES (?, ?, ?, ${PENDING}, 0, ?, ?, ?, ?)`,
  );
  for (const { consumer, orderKey, event } of entries) {
    const waits = head.get(consumer, orderKey) !== undefined;
    insert.run(consumer, orderKey, JSON.stringify(event), at, waits ? null : at, at, at);
  }
}

/**
 * {@link OutgoingStore} on the `outgoing` table: per consumer, in append order, one live entry per order key in
 * flight. Claims take due heads earliest due first (append order among equal due times), fenced like the outbox.
 */
export function createOutgoingStore(context: SqliteContext): OutgoingStore {
  const { statement, run, transaction } = context;

  /** Makes the oldest live entry of a key its head again after the head ended or an older entry came back. */
  const promote = (consumer: string, orderKey: string): void => {
    const head = statement(HEAD_OF_KEY).get(consumer, orderKey) as Row | undefined;
    if (head === undefined) return;
    statement('UPDATE outgoing SET ready_at = due_at WHERE id = ? AND ready_at IS NULL').run(head.id!);
    // A redriven entry older than the current head takes its place; a claimed one keeps its lease.
    statement(
      `UPDATE outgoing SET ready_at = NULL WHERE consumer = ? AND order_key = ? AND ${LIVE} AND status = ${PENDING}
         AND id > ? AND ready_at IS NOT NULL`,
    ).run(consumer, orderKey, head.id!);
  };

  const settleOne = (outcome: OutgoingOutcome): boolean => {
    const id = Number(outcome.id);
    if (!Number.isSafeInteger(id)) return false;
    const fence = `WHERE id = ? AND claim_token = ? AND status = ${CLAIMED} RETURNING consumer, order_key`;
    let row: Row | undefined;
    if (outcome.status === 'retry') {
      row = statement(
        `UPDATE outgoing SET status = ${PENDING}, due_at = ?, ready_at = ?, last_error = ?, updated_at = ? ${fence}`,
      ).get(outcome.dueAt, outcome.dueAt, JSON.stringify(outcome.error), outcome.at, id, outcome.claimToken) as
        | Row
        | undefined;
      return row !== undefined;
    }
    row =
      outcome.status === 'delivered'
        ? (statement(`UPDATE outgoing SET status = ${DELIVERED}, ready_at = NULL, updated_at = ? ${fence}`).get(
            outcome.at,
            id,
            outcome.claimToken,
          ) as Row | undefined)
        : (statement(
            `UPDATE outgoing SET status = ${DEAD}, ready_at = NULL, last_error = ?, updated_at = ? ${fence}`,
          ).get(JSON.stringify(outcome.error), outcome.at, id, outcome.claimToken) as Row | undefined);
    if (row === undefined) return false;
    promote(text(row.consumer)!, text(row.order_key)!);
    return true;
  };

  return {
    append: (entries, at) => run(() => transaction(() => appendOutgoing(context, entries, at))),
    claim: ({ consumer, limit, now, leaseMs }) =>
      run(() => {
        if (limit <= 0) return [];
        const ids = (statement(CLAIM_OUTGOING).all(consumer, now, limit) as Row[]).map((row) => int(row.id)!);
        if (ids.length === 0) return [];
        const token = context.nextClaimToken();
        const rows = transaction(
          () =>
            statement(
              `UPDATE outgoing SET status = ${CLAIMED}, attempts = attempts + 1, claim_token = ?, ready_at = ?,
                 updated_at = ? WHERE id IN (SELECT value FROM json_each(?)) RETURNING *`,
            ).all(token, now + leaseMs, now, JSON.stringify(ids)) as Row[],
        );
        const order = new Map(ids.map((id, i) => [id, i]));
        return rows.map(toEntry).sort((a, b) => order.get(Number(a.id))! - order.get(Number(b.id))!);
      }),
    settle: (outcomes) =>
      run(() => {
        const stale: string[] = [];
        let settled = 0;
        if (outcomes.length > 0) {
          transaction(() => {
            for (const outcome of outcomes) {
              if (settleOne(outcome)) settled++;
              else stale.push(outcome.id);
            }
          });
        }
        return { settled, stale };
      }),
    redrive: (ids, at) =>
      run(() =>
        transaction(() => {
          let redriven = 0;
          for (const raw of ids) {
            const id = Number(raw);
            if (!Number.isSafeInteger(id)) continue;
            const row = statement(
              `UPDATE outgoing SET status = ${PENDING}, due_at = ?, attempts = 0, ready_at = NULL, updated_at = ?
               WHERE id = ? AND status = ${DEAD} RETURNING consumer, order_key`,
            ).get(at, at, id) as Row | undefined;
            if (row === undefined) continue;
            promote(text(row.consumer)!, text(row.order_key)!);
            redriven++;
          }
          return redriven;
        }),
      ),
    list: ({ consumer, status, afterId, limit }) =>
      run(() => {
        const after = afterId === undefined ? 0 : Number(afterId);
        if (!Number.isSafeInteger(after)) return [];
        const rows =
          status === undefined
            ? statement(
                'SELECT * FROM outgoing INDEXED BY outgoing_consumer WHERE consumer = ? AND id > ? ORDER BY id LIMIT ?',
              ).all(consumer, after, limit)
            : statement(
                `SELECT * FROM outgoing INDEXED BY outgoing_consumer WHERE consumer = ? AND id > ? AND status = ?
                 ORDER BY id LIMIT ?`,
              ).all(consumer, after, OUTGOING_STATUS[status], limit);
        return (rows as Row[]).map(toEntry);
      }),
    nextDueAt: (consumer) =>
      run(() => {
        const row =
          consumer === undefined
            ? (statement(NEXT_OUTGOING).get() as Row | undefined)
            : (statement(
                `SELECT ready_at AS next FROM outgoing INDEXED BY outgoing_ready
                 WHERE consumer = ? AND ready_at IS NOT NULL ORDER BY ready_at LIMIT 1`,
              ).get(consumer) as Row | undefined);
        return int(row?.next);
      }),
    counts: (consumer) =>
      run(() => {
        const counts: Record<OutgoingStatus, number> = { pending: 0, claimed: 0, delivered: 0, dead: 0 };
        // A scan of the consumer's entries (or of the table): for metrics and health, not per call.
        const rows = (
          consumer === undefined
            ? statement('SELECT status, count(*) AS n FROM outgoing GROUP BY status').all()
            : statement('SELECT status, count(*) AS n FROM outgoing WHERE consumer = ? GROUP BY status').all(consumer)
        ) as Row[];
        for (const row of rows) counts[OUTGOING_STATUS_NAME[int(row.status)!]!] = int(row.n) ?? 0;
        return counts;
      }),
  };
}
