import type { AuditEntry, AuditEntryInput, AuditStore } from '@idrelay/core';
import { AUDIT_GENESIS_HASH, hashAuditEntry } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { fromJson, int, text } from './driver.js';

/**
 * The fields of an entry that are stored and hashed. Anything else a caller put on the object is dropped before
 * hashing; otherwise the hash would cover data that reading the entry back cannot reproduce, and the chain
 * would fail verification.
 */
function normalise(entry: AuditEntryInput): AuditEntryInput {
  const input: AuditEntryInput = { at: entry.at, action: entry.action, actor: entry.actor };
  if (entry.eventRef !== undefined) input.eventRef = entry.eventRef;
  if (entry.target !== undefined) input.target = entry.target;
  if (entry.details !== undefined) input.details = JSON.parse(JSON.stringify(entry.details)) as Record<string, unknown>;
  return input;
}

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
export function createAuditStore(context: SqliteContext): AuditStore {
  const { statement, run, transaction } = context;
  const head = () => statement('SELECT * FROM audit ORDER BY seq DESC LIMIT 1').get() as Row | undefined;
  return {
    append: (entries) =>
      run(() =>
        // Reading the head and inserting after it in one transaction is what keeps concurrent appends in one chain.
        transaction(() => {
          const last = head();
          let seq = int(last?.seq) ?? 0;
          let prevHash = text(last?.hash) ?? AUDIT_GENESIS_HASH;
          const insert = statement(
            `INSERT INTO audit (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          );
          return entries.map((raw): AuditEntry => {
            const input = normalise(raw);
            seq += 1;
            const hash = hashAuditEntry(seq, prevHash, input);
            insert.run(
              seq,
              input.at,
              input.action,
              input.actor,
              input.eventRef ?? null,
              input.target ?? null,
              input.details === undefined ? null : JSON.stringify(input.details),
              prevHash,
              hash,
            );
            const entry: AuditEntry = { ...input, seq, prevHash, hash };
            prevHash = hash;
            return entry;
          });
        }),
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
