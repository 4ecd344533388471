import type { DeliveryOutcome, SettleResult } from '@idrelay/core';
import { integerArray, textArray } from '../array-literal.js';
import type { PgContext } from '../context.js';
import { rowId, settleFenced } from '../context.js';
import { appendOutgoing, dueAt, outgoingStatements } from '../outgoing.js';
import { ONE_PLAN } from './claim.js';

/**
 * The settle statement, for one schema: every outcome of a batch in one `UPDATE … FROM unnest(…)`, whatever mix
 * of outcomes it holds, each applied only while its claim token still owns a claimed row (fencing). `RETURNING`
 * names the rows it changed; the others are stale.
 */
export function settleStatement(context: PgContext): string {
  const deliveries = context.table('deliveries');
  return `UPDATE ${deliveries} d SET status = o.status, ready_at = o.due_at, due_at = coalesce(o.due_at, d.due_at),
      last_error_code = CASE WHEN o.code IS NULL THEN d.last_error_code ELSE o.code END,
      last_error_reason = CASE WHEN o.code IS NULL THEN d.last_error_reason ELSE o.reason END,
      provider_message_id = coalesce(o.provider_message_id, d.provider_message_id), updated_at = o.at
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[])
      AS o(id, token, status, due_at, code, reason, provider_message_id, at)
    WHERE d.id = o.id AND d.claim_token = o.token AND d.status = 'claimed'
    RETURNING d.id`;
}

const errorOf = (o: DeliveryOutcome) => (o.status === 'delivered' ? undefined : o.error);

/**
 * Settling and lease extension, both fenced by the claim token: a late outcome from a worker whose lease ran out
 * (and whose rows another claim holds now) changes nothing and comes back in `stale`. An applied outcome's `emit`
 * entries join the outgoing log in the same transaction; a stale one's never do.
 */
export function createSettle(context: PgContext) {
  const deliveries = context.table('deliveries');
  const sql = settleStatement(context);
  const lockKeys = outgoingStatements(context).lockKeys;

  return {
    settle: (outcomes: readonly DeliveryOutcome[]): Promise<SettleResult> =>
      settleFenced(context, outcomes, (valid) => {
        const values = [
          integerArray(valid.map((o) => o.id)),
          integerArray(valid.map((o) => Math.trunc(o.claimToken))),
          textArray(valid.map((o) => (o.status === 'retry' ? 'pending' : o.status))),
          integerArray(valid.map((o) => (o.status === 'retry' ? Math.trunc(o.dueAt) : null))),
          textArray(valid.map((o) => errorOf(o)?.code ?? null)),
          textArray(valid.map((o) => errorOf(o)?.reason ?? null)),
          textArray(valid.map((o) => (o.status === 'delivered' ? (o.providerMessageId ?? null) : null))),
          integerArray(valid.map((o) => Math.trunc(o.at))),
        ];
        const emits = valid.filter((o) => o.emit !== undefined && o.emit.length > 0);
        return context.transaction(async (tx) => {
          if (emits.length > 0) {
            // The outgoing keys are locked before any delivery row, as every writer of the log locks them first.
            const entries = emits.flatMap((o) => o.emit!);
            await tx(lockKeys, [
              context.schema,
              textArray(entries.map((e) => e.consumer)),
              textArray(entries.map((e) => e.orderKey)),
            ]);
          }
          const { rows } = await tx(sql, values);
          const ids = new Set(rows.map((row) => String(row.id)));
          const appended = emits.filter((o) => ids.has(o.id)).flatMap((o) => dueAt(o.emit, o.at));
          await appendOutgoing(context, tx, appended, { locked: true });
          return ids;
        }, ONE_PLAN);
      }),

    async extendLease(ids: readonly string[], claimToken: number, leaseUntil: number): Promise<{ lost: string[] }> {
      context.assertOpen();
      const valid = ids.flatMap((id) => rowId(id) ?? []);
      if (valid.length === 0) return { lost: [...ids] };
      const { rows } = await context.transaction(
        (tx) =>
          tx(
            `UPDATE ${deliveries} SET ready_at = $3 WHERE id = ANY($1::bigint[]) AND claim_token = $2
               AND status = 'claimed' RETURNING id`,
            [integerArray(valid), Math.trunc(claimToken), Math.trunc(leaseUntil)],
          ),
        ONE_PLAN,
      );
      const kept = new Set(rows.map((row) => String(row.id)));
      return { lost: ids.filter((id) => !kept.has(id)) };
    },
  };
}
