import type { AuditEntry, AuditEntryInput, AuditStore } from '@idrelay/core';
import { canonicalJson, chainAuditEntries, IdrelayError, normaliseAuditEntry } from '@idrelay/core';
import type { PgContext, Row } from './context.js';
import { num, prepared, str } from './context.js';

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
 * The canonical JSON `hashAuditEntry` hashes for `entry` (normalised) at any `seq`, split around the `seq` value:
 * `before + seq + after` is `canonicalJson({ ...entry, seq })`. `apply_answers` chains entries in the database
 * from these, once it holds the head.
 */
export function hashParts(entry: AuditEntryInput): [before: string, after: string] {
  const lower: Record<string, unknown> = {};
  const upper: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (key < 'seq') lower[key] = value;
    else if (key > 'seq') upper[key] = value;
  }
  const below = canonicalJson(lower);
  const above = canonicalJson(upper);
  return [below === '{}' ? '{"seq":' : `${below.slice(0, -1)},"seq":`, above === '{}' ? '}' : `,${above.slice(1)}`];
}

/**
 * The six columns every audit insert takes from its entries, in table order after `seq`: at, action, actor,
 * event_ref, target and details (JSON text), one array each.
 */
export function auditColumns(entries: readonly AuditEntryInput[]): unknown[][] {
  return [
    entries.map((e) => e.at),
    entries.map((e) => e.action),
    entries.map((e) => e.actor),
    entries.map((e) => e.eventRef ?? null),
    entries.map((e) => e.target ?? null),
    entries.map((e) => (e.details === undefined ? null : JSON.stringify(e.details))),
  ];
}

/** Most entries one statement writes; a longer queue is written by several statements in turn. */
const MAX_BATCH = 500;

interface Waiting {
  entries: readonly AuditEntryInput[];
  resolve: (chained: AuditEntry[]) => void;
  reject: (error: unknown) => void;
}

/**
 * {@link AuditStore} on the `audit` table, chained through the single `audit_head` row.
 *
 * Group commit: appends that arrive while one is being written wait and then go together, in call order, in one
 * statement — one round trip for many responses instead of a locked transaction each, which serialised every
 * caller behind the head row. Each call's entries stay consecutive, and each call resolves only once its entries
 * are committed.
 *
 * The statement moves the head only from the head it chained after (`WHERE seq = … AND hash = …`) and inserts the
 * entries only if it did, so the chain cannot fork: when another process appended in between, PostgreSQL re-checks
 * the condition against the committed head after waiting for its row lock, nothing is written, and the batch is
 * chained again after the head read afresh.
 */
export function createAuditStore(context: PgContext): AuditStore & {
  /**
   * Records the head a caller's committed write left (or `undefined`: unknown, read it next time). A head older
   * than the one known is ignored: writers committing at once may report their heads in any order.
   */
  remember(head: Pick<AuditEntry, 'seq' | 'hash'> | undefined): void;
} {
  const { query } = context;
  const audit = context.table('audit');
  const head = context.table('audit_head');
  const appendSql = prepared(`WITH moved AS (
      UPDATE ${head} SET seq = $10, hash = $11 WHERE id = 1 AND seq = $12 AND hash = $13 RETURNING 1)
    INSERT INTO ${audit} (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::json[],
      $8::text[], $9::text[])
    WHERE EXISTS (SELECT 1 FROM moved)`);
  const headSql = prepared(`SELECT seq, hash FROM ${head} WHERE id = 1`);
  /** The 13 parameters of `appendSql`: the 9 columns of `chained`, the new head, the head it chains after. */
  const appendValues = (chained: readonly AuditEntry[], after: Pick<AuditEntry, 'seq' | 'hash'>): unknown[] => {
    const last = chained.at(-1)!;
    return [
      chained.map((e) => e.seq),
      ...auditColumns(chained),
      chained.map((e) => e.prevHash),
      chained.map((e) => e.hash),
      last.seq,
      last.hash,
      after.seq,
      after.hash,
    ];
  };
  /** The head as this store last wrote or read it; another process may have moved it since. */
  let known: Pick<AuditEntry, 'seq' | 'hash'> | undefined;
  const queue: Waiting[] = [];
  let writing = false;

  const readHead = async () => {
    const { rows } = await query(headSql);
    return { seq: num(rows[0]?.seq)!, hash: str(rows[0]?.hash)! };
  };

  const write = async (entries: readonly AuditEntryInput[]): Promise<AuditEntry[]> => {
    for (let attempt = 0; ; attempt++) {
      const after = known ?? (await readHead());
      known = undefined;
      const chained = chainAuditEntries(after, entries);
      const last = chained.at(-1)!;
      const { rowCount } = await query(appendSql, appendValues(chained, after));
      if (rowCount === chained.length) {
        known = { seq: last.seq, hash: last.hash };
        return chained;
      }
      // Another writer moved the head first; each retry follows a commit of theirs, so the chain still advances.
      if (attempt >= 100) {
        throw new IdrelayError('ERR_STORE_CONFLICT', `The audit head of ${context.name} kept moving; append retried.`);
      }
    }
  };

  const drain = async (): Promise<void> => {
    writing = true;
    try {
      while (queue.length > 0) {
        const batch: Waiting[] = [];
        let size = 0;
        while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.entries.length <= MAX_BATCH)) {
          const next = queue.shift()!;
          batch.push(next);
          size += next.entries.length;
        }
        try {
          const chained = await write(batch.flatMap((w) => w.entries));
          let offset = 0;
          for (const waiting of batch) {
            waiting.resolve(chained.slice(offset, offset + waiting.entries.length));
            offset += waiting.entries.length;
          }
        } catch (error) {
          for (const waiting of batch) waiting.reject(error);
        }
      }
    } finally {
      writing = false;
    }
  };

  return {
    remember: (head) => {
      if (head === undefined) known = undefined;
      else if (known === undefined || head.seq > known.seq) known = { seq: head.seq, hash: head.hash };
    },
    append: async (entries) => {
      if (entries.length === 0) return [];
      context.assertOpen();
      // Normalised here, so an entry that cannot be stored (details that are not JSON) fails its own call only.
      const normalised = entries.map(normaliseAuditEntry);
      return new Promise<AuditEntry[]>((resolve, reject) => {
        queue.push({ entries: normalised, resolve, reject });
        if (!writing) void drain();
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
