/**
 * Cut-off instants (ms since the epoch) per kind of record: what finished before its cut-off may go. A kind
 * without a cut-off is kept. The audit chain is never pruned.
 */
export interface RetentionCutoffs {
  /** Deliveries in a final state last updated before this, with their messages once no delivery uses them. */
  deliveries?: number;
  /** Rejected inputs received before this. */
  rejectedEvents?: number;
  /** Planned events received before this (a redelivery after it is no longer recognised as a duplicate). */
  events?: number;
  /** Action tokens used, revoked or expired before this. */
  actionTokens?: number;
  /** Outgoing entries delivered before this (dead letters stay until redriven or `deadOutgoing`). */
  outgoing?: number;
  /** Dead outgoing entries last updated before this. */
  deadOutgoing?: number;
  /** Removed devices removed before this, once no delivery references them. */
  devices?: number;
}

/** How many records of each kind one prune removed. */
export interface RetentionCounts {
  deliveries: number;
  messages: number;
  rejectedEvents: number;
  events: number;
  actionTokens: number;
  outgoing: number;
  devices: number;
}

/** Retention: removes what finished long ago, in bounded batches so a prune never holds the database for long. */
export interface RetentionStore {
  /** Removes at most `limit` records of each kind older than its cut-off; call again while anything was removed. */
  prune(cutoffs: RetentionCutoffs, limit: number): Promise<RetentionCounts>;
}
