import type { IdentityEvent } from '../../events/envelope.js';
import type { SettleResult } from './outbox.js';

/**
 * Something the relay tells one consumer of the outside world: a decision for the IAM system, an acknowledgement
 * for the directory, a receipt for a webhook subscriber.
 */
export interface OutgoingInput {
  /** The consumer it is for: a `WriteBack`'s name, a webhook subscription id. */
  consumer: string;
  /**
   * Entries of one consumer with the same key are delivered in the order they were appended, one at a time: use
   * the subject (a user id, an access request id), so a revocation never overtakes the grant before it.
   */
  orderKey: string;
  event: IdentityEvent;
}

/** Where an outgoing entry is. `pending` and `claimed` are live; `delivered` and `dead` are final. */
export type OutgoingStatus = 'pending' | 'claimed' | 'delivered' | 'dead';

/** An entry of the outgoing log, as stored. */
export interface OutgoingEntry extends OutgoingInput {
  /** Store-assigned, increasing in append order. */
  id: string;
  status: OutgoingStatus;
  attempts: number;
  dueAt: number;
  claimToken?: number;
  leaseUntil?: number;
  lastError?: { code: string; reason?: string };
  createdAt: number;
  updatedAt: number;
}

/** How handing an entry to its consumer ended. */
export type OutgoingOutcome = { id: string; claimToken: number; at: number } & (
  | { status: 'delivered' }
  | { status: 'retry'; dueAt: number; error: { code: string; reason?: string } }
  | { status: 'dead'; error: { code: string; reason?: string } }
);

/** Options of writes that may append to the outgoing log in their own transaction. */
export interface EmitOptions {
  /** Appended to the outgoing log in the same transaction as the write, or not at all. */
  emit?: readonly OutgoingInput[];
}

/**
 * The durable way out: what the relay tells the outside world is appended here in the same transaction as the
 * state change that caused it, then handed to each consumer at least once, in order per (`consumer`,
 * `orderKey`), with retries and a dead letter. Claims are fenced like the outbox's.
 */
export interface OutgoingStore {
  /** Appends entries (in one transaction), due at `at`. */
  append(entries: readonly OutgoingInput[], at: number): Promise<void>;
  /**
   * Claims due entries of one consumer, oldest first, skipping every entry whose `orderKey` has an older live
   * entry: at most one entry per key is in flight, and a key waits while its head is retried.
   */
  claim(options: { consumer: string; limit: number; now: number; leaseMs: number }): Promise<OutgoingEntry[]>;
  /** Records outcomes while their `claimToken` still owns the entry; stale ones change nothing. */
  settle(outcomes: readonly OutgoingOutcome[]): Promise<SettleResult>;
  /** Puts dead entries back to `pending`, due at `at` (an operator's redrive); returns how many. */
  redrive(ids: readonly string[], at: number): Promise<number>;
  /** Entries of one consumer in append order, optionally of one status (the dead letters, for an operator). */
  list(options: {
    consumer: string;
    status?: OutgoingStatus;
    afterId?: string;
    limit: number;
  }): Promise<OutgoingEntry[]>;
  /**
   * The earliest due time (or lease end) among the entries that could be claimed next — the head of each
   * (`consumer`, `orderKey`); an entry waiting behind its head does not count — of `consumer`, or of every one.
   */
  nextDueAt(consumer?: string): Promise<number | undefined>;
  counts(consumer?: string): Promise<Record<OutgoingStatus, number>>;
}
