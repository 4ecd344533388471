import type { DeliveryOutcome, SettleResult } from '@idrelay/core';
import type { SqliteContext } from '../driver.js';
import { appendOutgoing } from '../outgoing.js';
import { DELIVERY_STATUS } from '../status-codes.js';

const { pending: PENDING, claimed: CLAIMED, delivered: DELIVERED } = DELIVERY_STATUS;

/** The fence every outcome and lease extension passes: the row is still claimed, by this claim. */
const FENCE = `WHERE id = ? AND claim_token = ? AND status = ${CLAIMED}`;

const SETTLE_DELIVERED = `UPDATE deliveries SET status = ${DELIVERED}, ready_at = NULL,
    provider_message_id = coalesce(?, provider_message_id), updated_at = ? ${FENCE}`;
const SETTLE_RETRY = `UPDATE deliveries SET status = ${PENDING}, due_at = ?, ready_at = ?, last_error = ?,
    updated_at = ? ${FENCE}`;
// An expired or cancelled outcome may come without an error: the last one stays.
const SETTLE_FINAL = `UPDATE deliveries SET status = ?, ready_at = NULL, last_error = coalesce(?, last_error),
    updated_at = ? ${FENCE}`;

/** The database id of an outcome's delivery, or undefined for an id this store never gave out. */
const rowId = (id: string): number | undefined => {
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * Settling and lease extension, both fenced by the claim token: a late outcome from a worker whose lease ran out
 * (and whose rows another claim holds now) changes nothing and comes back in `stale`. An applied outcome's `emit`
 * entries join the outgoing log in the same transaction.
 */
export function createSettle(context: SqliteContext) {
  const { statement } = context;

  const applyOne = (outcome: DeliveryOutcome, id: number): boolean => {
    const { claimToken, at } = outcome;
    let changes: number | bigint;
    switch (outcome.status) {
      case 'delivered':
        changes = statement(SETTLE_DELIVERED).run(outcome.providerMessageId ?? null, at, id, claimToken).changes;
        break;
      case 'retry':
        changes = statement(SETTLE_RETRY).run(
          outcome.dueAt,
          outcome.dueAt,
          JSON.stringify(outcome.error),
          at,
          id,
          claimToken,
        ).changes;
        break;
      default:
        changes = statement(SETTLE_FINAL).run(
          DELIVERY_STATUS[outcome.status],
          outcome.error === undefined ? null : JSON.stringify(outcome.error),
          at,
          id,
          claimToken,
        ).changes;
    }
    return Number(changes) > 0;
  };

  return {
    settle(outcomes: readonly DeliveryOutcome[]): SettleResult {
      const stale: string[] = [];
      let settled = 0;
      if (outcomes.length === 0) return { settled, stale };
      context.transaction(() => {
        for (const outcome of outcomes) {
          const id = rowId(outcome.id);
          if (id === undefined || !applyOne(outcome, id)) {
            stale.push(outcome.id);
            continue;
          }
          settled++;
          appendOutgoing(context, outcome.emit, outcome.at);
        }
      });
      return { settled, stale };
    },

    extendLease(ids: readonly string[], claimToken: number, leaseUntil: number): { lost: string[] } {
      const lost: string[] = [];
      if (ids.length === 0) return { lost };
      context.transaction(() => {
        const extend = statement(`UPDATE deliveries SET ready_at = ? ${FENCE}`);
        for (const raw of ids) {
          const id = rowId(raw);
          if (id === undefined || Number(extend.run(leaseUntil, id, claimToken).changes) === 0) lost.push(raw);
        }
      });
      return { lost };
    },
  };
}
