import type { AuditEntry, AuditStore } from '@idrelay/core';
import { chainAuditEntries } from '@idrelay/core';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

const toEntry = (row: Row): AuditEntry => {
  const entry: AuditEntry = {
    seq: num(row.seq)!,
    at: num(row.at)!,
    action: str(row.action)!,
    actor: str(row.actor)!,
    prevHash: str(row.prev_hash)!,
    hash: str(row.hash)!,
  };
  const eventRef = str(row.event_ref);
  const target = str(row.target);
  if (eventRef !== undefined) entry.eventRef = eventRef;
  if (target !== undefined) entry.target = target;
  if (row.details !== null && row.details !== undefined) entry.details = row.details as Record<string, unknown>;
  return entry;
};

/**
 * {@link AuditStore} on the `audit` table. Appends lock the single `audit_head` row first, so appends from any
 * number of processes run one after another, each chaining to the head the previous one left.
 */
export function createAuditStore(context: PgContext): AuditStore {
  const { query } = context;
  const audit = context.table('audit');
  const head = context.table('audit_head');
  return {
    append: async (entries) => {
      if (entries.length === 0) return [];
      return context.transaction(async (tx) => {
        const { rows } = await tx(`SELECT seq, hash FROM ${head} WHERE id = 1 FOR UPDATE`);
        const chained = chainAuditEntries({ seq: num(rows[0]?.seq)!, hash: str(rows[0]?.hash)! }, entries);
        const last = chained.at(-1)!;
        await tx(
          `INSERT INTO ${audit} (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
             $7::json[], $8::text[], $9::text[])`,
          [
            chained.map((e) => e.seq),
            chained.map((e) => e.at),
            chained.map((e) => e.action),
            chained.map((e) => e.actor),
            chained.map((e) => e.eventRef ?? null),
            chained.map((e) => e.target ?? null),
            chained.map((e) => (e.details === undefined ? null : JSON.stringify(e.details))),
            chained.map((e) => e.prevHash),
            chained.map((e) => e.hash),
          ],
        );
        await tx(`UPDATE ${head} SET seq = $1, hash = $2 WHERE id = 1`, [last.seq, last.hash]);
        return chained;
      });
    },
    list: async ({ afterSeq = 0, limit }) => {
      const { rows } = await query(`SELECT * FROM ${audit} WHERE seq > $1 ORDER BY seq LIMIT $2`, [
        afterSeq,
        Math.max(0, Math.trunc(limit)),
      ]);
      return rows.map(toEntry);
    },
    head: async () => {
      const { rows } = await query(`SELECT * FROM ${audit} ORDER BY seq DESC LIMIT 1`);
      return rows[0] === undefined ? undefined : toEntry(rows[0]);
    },
  };
}
