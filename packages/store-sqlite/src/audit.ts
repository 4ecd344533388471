import type { AuditEntry, AuditEntryInput, AuditStore } from '@idrelay/core';
import { chainAuditEntries } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { fromJson, int, text } from './driver.js';

const toEntry = (row: Row): AuditEntry => {
  const entry: AuditEntry = {
    seq: int(row.seq)!,
    at: int(row.at)!,
    action: text(row.action)!,
    actor: text(row.actor)!,
    prevHash: text(row.prev_hash)!,
    hash: text(row.hash)!,
  };
  const eventRef = text(row.event_ref);
  const target = text(row.target);
  const details = fromJson<Record<string, unknown>>(row.details);
  if (eventRef !== undefined) entry.eventRef = eventRef;
  if (target !== undefined) entry.target = target;
  if (details !== undefined) entry.details = details;
  return entry;
};

/** {@link AuditStore} on the `audit` table: `seq` is the primary key, each row holds its own and the previous hash. */
const HEAD = 'SELECT * FROM audit ORDER BY seq DESC LIMIT 1';

/**
 * Chains `entries` after the head and inserts them; call it inside a transaction, where reading the head and
 * inserting after it cannot interleave with another append.
 */
export function appendAudit(context: SqliteContext, entries: readonly AuditEntryInput[]): AuditEntry[] {
  const last = context.statement('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
  const chained = chainAuditEntries(
    last === undefined ? undefined : { seq: int(last.seq)!, hash: text(last.hash)! },
    entries,
  );
  const insert = context.statement(
    `INSERT INTO audit (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const e of chained) {
    insert.run(
      e.seq,
      e.at,
      e.action,
      e.actor,
      e.eventRef ?? null,
      e.target ?? null,
      e.details === undefined ? null : JSON.stringify(e.details),
      e.prevHash,
      e.hash,
    );
  }
  return chained;
}

export function createAuditStore(context: SqliteContext): AuditStore {
  const { statement, run, transaction } = context;
  const head = () => statement(HEAD).get() as Row | undefined;
  return {
    append: (entries) =>
      run(() =>
        // Reading the head and inserting after it in one transaction is what keeps concurrent appends in one chain.
        transaction(() => appendAudit(context, entries)),
      ),
    list: ({ afterSeq = 0, limit }) =>
      run(() =>
        (statement('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as Row[]).map(
          toEntry,
        ),
      ),
    head: () =>
      run(() => {
        const row = head();
        return row === undefined ? undefined : toEntry(row);
      }),
  };
}
