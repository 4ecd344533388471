import type { AuditEntry, AuditEntryInput } from '../audit.js';

/** The append-only, hash-chained audit log (see `hashAuditEntry`). */
export interface AuditStore {
  /** Appends in order, chaining each entry to the last; concurrent appends never fork the chain. */
  append(entries: readonly AuditEntryInput[]): Promise<AuditEntry[]>;
  /** Entries after `afterSeq`, in order. */
  list(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]>;
  /** The last entry, or undefined when the log is empty. */
  head(): Promise<AuditEntry | undefined>;
}
