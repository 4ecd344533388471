import type { IdentityEvent, OutgoingEntry, OutgoingInput, OutgoingStatus, OutgoingStore } from '@idrelay/core';
import { integerArray, textArray } from './array-literal.js';
import type { PgContext, Query, Row } from './context.js';
import { errorOf, num, rowId, settleFenced, str } from './context.js';

/** The statuses whose entries are still to be handed out; the partial index `outgoing_live` holds exactly these. */
const LIVE = `status IN ('pending', 'claimed')`;

/**
 * The first key of the two-key advisory locks that serialise the writers of one (consumer, order key); the
 * second is a hash of the schema, consumer and key. Distinct from the migration lock of `migrate.ts`.
 */
const KEY_LOCK = 0x1d7e_0a01;
const KEY_HASH = (consumer: string, orderKey: string) =>
  `hashtext($1 || chr(31) || ${consumer} || chr(31) || ${orderKey})`;

const toEntry = (row: Row): OutgoingEntry => {
  const status = str(row.status) as OutgoingStatus;
  const entry: OutgoingEntry = {
    id: String(row.id),
    consumer: str(row.consumer)!,
    orderKey: str(row.order_key)!,
    event: row.event as IdentityEvent,
    status,
    attempts: num(row.attempts)!,
    dueAt: num(row.due_at)!,
    createdAt: num(row.created_at)!,
    updatedAt: num(row.updated_at)!,
  };
  const claimToken = num(row.claim_token);
  const lastError = errorOf(row.last_error_code, row.last_error_reason);
  if (claimToken !== undefined) entry.claimToken = claimToken;
  if (status === 'claimed') entry.leaseUntil = num(row.ready_at)!;
  if (lastError !== undefined) entry.lastError = lastError;
  return entry;
};

const byId = (a: { id: string }, b: { id: string }) => a.id.length - b.id.length || (a.id < b.id ? -1 : 1);

/**
 * The statements of the outgoing log, for one schema.
 *
 * Only the head of each (consumer, order key) — its oldest live entry — carries a `ready_at` (its due time, or its
 * lease end while claimed), so `outgoing_ready` holds exactly what a claim may take. Claims lock heads with
 * `FOR UPDATE SKIP LOCKED` and nothing else: the entry behind a head has no `ready_at` until the head is final, so
 * a claimer that skips a head another claimer holds cannot take the next entry of that key instead.
 *
 * Who makes an entry the head is serialised per key by a transaction-scoped advisory lock, taken (in hash order,
 * so two writers never wait on each other in a cycle) by every append, settle and redrive before it reads the key:
 * without it, an append that saw the head still live and a settle that ended the head without seeing the
 * uncommitted append would leave the new entry with no head, never handed out.
 */
export function outgoingStatements(context: PgContext) {
  const outgoing = context.table('outgoing');
  const tokens = context.table('claim_tokens');
  return {
    lockKeys: `SELECT pg_advisory_xact_lock(${KEY_LOCK}, k) FROM (
        SELECT DISTINCT ${KEY_HASH('c', 'o')} AS k FROM unnest($2::text[], $3::text[]) AS x(c, o)) AS keys
      ORDER BY k`,
    lockKeysOf: `SELECT pg_advisory_xact_lock(${KEY_LOCK}, k) FROM (
        SELECT DISTINCT ${KEY_HASH('consumer', 'order_key')} AS k FROM ${outgoing} WHERE id = ANY($2::bigint[])) AS keys
      ORDER BY k`,
    // An entry is the head of its key when it is the first of the key in this append and no live entry of the key
    // is there already. Run under the key locks, in a statement after them, so it sees every earlier writer.
    append: `INSERT INTO ${outgoing} (consumer, order_key, event, status, attempts, due_at, ready_at, created_at,
        updated_at)
      SELECT c, o, e::json, 'pending', 0, at,
        CASE WHEN row_number() OVER (PARTITION BY c, o ORDER BY n) = 1 AND NOT EXISTS (
          SELECT 1 FROM ${outgoing} l WHERE l.consumer = x.c AND l.order_key = x.o AND l.${LIVE}) THEN at END,
        at, at
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS x(c, o, e, at, n)
      ORDER BY n`,
    claim: `WITH token AS MATERIALIZED (SELECT nextval('${tokens}') AS t)
      UPDATE ${outgoing} SET status = 'claimed', attempts = attempts + 1, claim_token = token.t, ready_at = $3,
        updated_at = $2
      FROM token
      WHERE id IN (SELECT id FROM ${outgoing} WHERE consumer = $1 AND ready_at IS NOT NULL AND ready_at <= $2
        ORDER BY ready_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)
      RETURNING ${outgoing}.*`,
    settle: `UPDATE ${outgoing} e SET status = o.status, due_at = coalesce(o.due_at, e.due_at), ready_at = o.due_at,
        last_error_code = coalesce(o.code, e.last_error_code),
        last_error_reason = CASE WHEN o.code IS NULL THEN e.last_error_reason ELSE o.reason END, updated_at = o.at
      FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[])
        AS o(id, token, status, due_at, code, reason, at)
      WHERE e.id = o.id AND e.claim_token = o.token AND e.status = 'claimed'
      RETURNING e.id, e.consumer, e.order_key`,
    redrive: `UPDATE ${outgoing} SET status = 'pending', due_at = $2, attempts = 0, ready_at = NULL, updated_at = $2
      WHERE id = ANY($1::bigint[]) AND status = 'dead' RETURNING consumer, order_key`,
    // After a head ended (or an older entry came back): the oldest live entry of each key is its head again, and a
    // pending entry behind it that still had a ready_at loses it. A claimed entry keeps its lease.
    promote: `WITH heads AS (
        SELECT k.c, k.o, (SELECT id FROM ${outgoing} l WHERE l.consumer = k.c AND l.order_key = k.o AND l.${LIVE}
                          ORDER BY id LIMIT 1) AS head
        FROM (SELECT DISTINCT c, o FROM unnest($1::text[], $2::text[]) AS k(c, o)) AS k)
      UPDATE ${outgoing} e SET ready_at = CASE WHEN e.id = h.head THEN e.due_at END
      FROM heads h
      WHERE e.consumer = h.c AND e.order_key = h.o AND e.${LIVE}
        AND ((e.id = h.head AND e.ready_at IS NULL) OR (e.id > h.head AND e.status = 'pending' AND e.ready_at IS NOT NULL))`,
  };
}

/** An entry to append, due at `at`. */
export interface Appended {
  entry: OutgoingInput;
  at: number;
}

/**
 * Appends entries inside the caller's transaction `tx`, after locking their keys (unless the caller already did,
 * `locked`): the write that caused them (a settle, a preference change) and the entries commit together or not at
 * all. Entries of one key join it in the order given.
 */
export async function appendOutgoing(
  context: PgContext,
  tx: Query,
  appended: readonly Appended[],
  options: { locked?: boolean } = {},
): Promise<void> {
  if (appended.length === 0) return;
  const sql = outgoingStatements(context);
  const consumers = textArray(appended.map((a) => a.entry.consumer));
  const keys = textArray(appended.map((a) => a.entry.orderKey));
  if (options.locked !== true) await tx(sql.lockKeys, [context.schema, consumers, keys]);
  await tx(sql.append, [
    consumers,
    keys,
    textArray(appended.map((a) => JSON.stringify(a.entry.event))),
    integerArray(appended.map((a) => Math.trunc(a.at))),
  ]);
}

/** `entries`, each due at `at`. */
export const dueAt = (entries: readonly OutgoingInput[] | undefined, at: number): Appended[] =>
  (entries ?? []).map((entry) => ({ entry, at }));

/**
 * {@link OutgoingStore} on the `outgoing` table: per consumer, in append order, at most one live entry per order
 * key in flight, even with claimers in many processes (see {@link outgoingStatements}). Claims are fenced like the
 * outbox's: every claim draws one token from `claim_tokens`.
 */
export function createOutgoingStore(context: PgContext): OutgoingStore {
  const { query } = context;
  const outgoing = context.table('outgoing');
  const sql = outgoingStatements(context);

  const promote = (tx: Query, rows: Row[]) =>
    rows.length === 0
      ? undefined
      : tx(sql.promote, [rows.map((row) => str(row.consumer)!), rows.map((row) => str(row.order_key)!)]);

  return {
    append: async (entries, at) => {
      context.assertOpen();
      if (entries.length === 0) return;
      await context.transaction((tx) => appendOutgoing(context, tx, dueAt(entries, at)));
    },
    claim: async ({ consumer, limit, now, leaseMs }) => {
      context.assertOpen();
      if (limit <= 0) return [];
      const { rows } = await query(sql.claim, [consumer, now, now + leaseMs, Math.trunc(limit)]);
      return rows.map(toEntry).sort(byId);
    },
    settle: (outcomes) =>
      settleFenced(context, outcomes, (valid) => {
        const ids = integerArray(valid.map((o) => o.id));
        return context.transaction(async (tx) => {
          await tx(sql.lockKeysOf, [context.schema, ids]);
          const { rows } = await tx(sql.settle, [
            ids,
            integerArray(valid.map((o) => Math.trunc(o.claimToken))),
            textArray(valid.map((o) => (o.status === 'retry' ? 'pending' : o.status))),
            integerArray(valid.map((o) => (o.status === 'retry' ? Math.trunc(o.dueAt) : null))),
            textArray(valid.map((o) => (o.status === 'delivered' ? null : o.error.code))),
            textArray(valid.map((o) => (o.status === 'delivered' ? null : (o.error.reason ?? null)))),
            integerArray(valid.map((o) => Math.trunc(o.at))),
          ]);
          await promote(tx, rows);
          return new Set(rows.map((row) => String(row.id)));
        });
      }),
    redrive: async (ids, at) => {
      const valid = ids.flatMap((id) => rowId(id) ?? []);
      if (valid.length === 0) return 0;
      return context.transaction(async (tx) => {
        await tx(sql.lockKeysOf, [context.schema, integerArray(valid)]);
        const { rows } = await tx(sql.redrive, [integerArray(valid), at]);
        await promote(tx, rows);
        return rows.length;
      });
    },
    list: async ({ consumer, status, afterId, limit }) => {
      const after = afterId === undefined ? '0' : rowId(afterId);
      if (after === undefined) return [];
      const { rows } = await query(
        `SELECT * FROM ${outgoing} WHERE consumer = $1 AND ($2::text IS NULL OR status = $2) AND id > $3
         ORDER BY id LIMIT $4`,
        [consumer, status ?? null, after, Math.max(0, Math.trunc(limit))],
      );
      return rows.map(toEntry);
    },
    nextDueAt: async (consumer) => {
      // Only heads carry ready_at, so an entry waiting behind its head never makes the dispatcher wake early.
      const { rows } =
        consumer === undefined
          ? await query(`SELECT min(ready_at) AS next FROM ${outgoing} WHERE ready_at IS NOT NULL`)
          : await query(`SELECT min(ready_at) AS next FROM ${outgoing} WHERE consumer = $1 AND ready_at IS NOT NULL`, [
              consumer,
            ]);
      return num(rows[0]?.next);
    },
    counts: async (consumer) => {
      const counts: Record<OutgoingStatus, number> = { pending: 0, claimed: 0, delivered: 0, dead: 0 };
      const { rows } = await query(
        `SELECT status, count(*) AS n FROM ${outgoing} WHERE $1::text IS NULL OR consumer = $1 GROUP BY status`,
        [consumer ?? null],
      );
      for (const row of rows) counts[str(row.status) as OutgoingStatus] = num(row.n) ?? 0;
      return counts;
    },
  };
}
