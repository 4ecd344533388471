import { createHash } from 'node:crypto';

/** An audit entry before it is chained. Personal data does not belong in `details`: reference it by id. */
export interface AuditEntryInput {
  /** When it happened (ms since the epoch). */
  at: number;
  /** What happened, dotted: `event.ingested`, `delivery.dead-lettered`, `action.approved`, `device.pruned`. */
  action: string;
  /** Who caused it: a user id, `system`, a connector name. */
  actor: string;
  /** The identity event it concerns, `source#id`. */
  eventRef?: string;
  /** The thing acted on: a delivery id, device id, request id. */
  target?: string;
  details?: Record<string, unknown>;
}

/** An audit entry in the append-only, hash-chained log. */
export interface AuditEntry extends AuditEntryInput {
  /** Position in the chain, from 1. */
  seq: number;
  /** `hash` of the previous entry; 64 zeros for the first. */
  prevHash: string;
  /** SHA-256 over `prevHash` and the canonical JSON of this entry (see {@link hashAuditEntry}). */
  hash: string;
}

/** The `prevHash` of the first entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Canonical JSON: object keys sorted, no whitespace, `undefined` dropped — so every store hashes alike. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i] ?? null);
    return `${out}]`;
  }
  // Keys in UTF-16 code-unit order (the default sort's order); undefined members left out, as JSON.stringify does.
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** The hash of an entry at `seq` after `prevHash`; every store computes it the same way. */
export function hashAuditEntry(seq: number, prevHash: string, entry: AuditEntryInput): string {
  const body = canonicalJson({ ...entry, seq });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}

/**
 * The fields of an entry that are stored and hashed. Anything else a caller put on the object is dropped, and
 * `details` goes through JSON first, so the hash covers exactly what reading the entry back reproduces.
 */
export function normaliseAuditEntry(entry: AuditEntryInput): AuditEntryInput {
  const input: AuditEntryInput = { at: entry.at, action: entry.action, actor: entry.actor };
  if (entry.eventRef !== undefined) input.eventRef = entry.eventRef;
  if (entry.target !== undefined) input.target = entry.target;
  if (entry.details !== undefined) input.details = JSON.parse(JSON.stringify(entry.details)) as Record<string, unknown>;
  return input;
}

/**
 * Chains `entries` after `head` (the last stored entry, or undefined for an empty log): normalises each, numbers
 * it and hashes it over its predecessor. A store calls this inside the transaction that read `head`, then inserts
 * the result, so concurrent appends never fork the chain.
 *
 * @example
 * ```ts
 * const chained = chainAuditEntries(await readHeadForUpdate(tx), entries);
 * await insertAll(tx, chained);
 * ```
 */
export function chainAuditEntries(
  head: Pick<AuditEntry, 'seq' | 'hash'> | undefined,
  entries: readonly AuditEntryInput[],
): AuditEntry[] {
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  return entries.map((raw) => {
    const input = normaliseAuditEntry(raw);
    seq += 1;
    const entry: AuditEntry = { ...input, seq, prevHash, hash: hashAuditEntry(seq, prevHash, input) };
    prevHash = entry.hash;
    return entry;
  });
}

/**
 * Checks that `entries` (consecutive, in order) form an unbroken chain. Returns the first broken `seq`, or
 * `undefined` when the chain holds.
 */
export function verifyAuditChain(entries: readonly AuditEntry[], previousHash?: string): number | undefined {
  let prev = previousHash ?? entries[0]?.prevHash ?? AUDIT_GENESIS_HASH;
  for (const entry of entries) {
    const { seq, prevHash, hash, ...input } = entry;
    if (prevHash !== prev || hashAuditEntry(seq, prevHash, input) !== hash) return seq;
    prev = hash;
  }
  return undefined;
}

/** Where audit entries go besides the store: a SIEM, an OCSF export, a file. */
export interface AuditSink {
  readonly name: string;
  write(entries: readonly AuditEntry[]): Promise<void>;
  close?(): Promise<void>;
}
