import type { OutboxStatus, OutgoingStatus } from '@idrelay/core';

/**
 * Statuses of the `deliveries` and `outgoing` tables are small integers, not words: a word costs up to 9 bytes in
 * every row of the two tables that grow with traffic, an integer 0 or 1 costs none (SQLite keeps 0 and 1 in the
 * record header) and any other code 1. These maps are the only place the numbers are spelled out.
 */
export const DELIVERY_STATUS = {
  pending: 0,
  claimed: 1,
  delivered: 2,
  failed: 3,
  dead: 4,
  cancelled: 5,
  expired: 6,
} as const satisfies Record<OutboxStatus, number>;

/** The word for a `deliveries.status` code. */
export const DELIVERY_STATUS_NAME: readonly OutboxStatus[] = [
  'pending',
  'claimed',
  'delivered',
  'failed',
  'dead',
  'cancelled',
  'expired',
];

/** Codes of `outgoing.status`. */
export const OUTGOING_STATUS = { pending: 0, claimed: 1, delivered: 2, dead: 3 } as const satisfies Record<
  OutgoingStatus,
  number
>;

/** The word for an `outgoing.status` code. */
export const OUTGOING_STATUS_NAME: readonly OutgoingStatus[] = ['pending', 'claimed', 'delivered', 'dead'];
