import type { IdentityEvent } from '../../events/envelope.js';
import type { AuditEntryInput } from '../audit.js';

/** Where an ingested event is in its processing. */
export type EventStatus = 'received' | 'planned';

/** An ingested event, as stored. */
export interface StoredEvent {
  /** The dedupe key from `eventKey(event)`: CloudEvents identifies an event by `source` and `id` together. */
  key: string;
  event: IdentityEvent;
  status: EventStatus;
  receivedAt: number;
}

/** An input the relay refused, kept for diagnosis. */
export interface RejectedInput {
  receivedAt: number;
  /** An idrelay error code, e.g. `ERR_EVENT_INVALID`, `ERR_EVENT_CONFLICT`. */
  code: string;
  reason: string;
  /** The input as text (cut to a bound by the engine; never holds a NUL character). */
  raw: string;
}

/** Options of {@link EventStore.listUnplanned}. */
export interface ListUnplannedOptions {
  /** Only events received before this instant: a sweep leaves events whose planning may still be running. */
  receivedBefore?: number;
}

/** Ingested events, for dedupe and for resuming planning after a crash or a failed attempt. */
export interface EventStore {
  /**
   * Stores the event unless one with the same key exists; `inserted: false` means a duplicate. `options.audit` is
   * appended with it, only when it was inserted, in the same write where the store allows (one transaction on SQLite;
   * right after on a group-committed audit chain).
   */
  record(
    event: IdentityEvent,
    receivedAt: number,
    options?: { audit?: readonly AuditEntryInput[] },
  ): Promise<{ inserted: boolean; key: string }>;
  get(key: string): Promise<StoredEvent | undefined>;
  /**
   * Marks planning finished: every delivery of the event is in the outbox. `options.audit` is appended with it, as
   * for {@link EventStore.record}.
   */
  markPlanned(key: string, options?: { audit?: readonly AuditEntryInput[] }): Promise<void>;
  /** Events received but not yet planned (a crash or a store error happened mid-planning), oldest first. */
  listUnplanned(limit: number, options?: ListUnplannedOptions): Promise<StoredEvent[]>;
  /** Keeps a rejected input for diagnosis: bad events are recorded, never dropped silently. */
  recordRejected(rejected: RejectedInput): Promise<void>;
  /** The most recent rejected inputs, newest first. */
  listRejected(limit: number): Promise<RejectedInput[]>;
}
