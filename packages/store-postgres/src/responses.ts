import type { ActionTokenStore, ResponsePortsBase } from '@idrelay/core';
import { composeResponsePorts } from '@idrelay/core';
import { toStored } from './action-tokens.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { toDevice } from './devices.js';
import { toFlow } from './flows.js';

/**
 * The coalesced read of {@link ActionTokenStore.lookup} (`$1` token hashes, `$2` device ids): each token, the live
 * device named and the token's flow, one row per call in call order (`i`). Each table is reached through a
 * `LATERAL … LIMIT 1` probe: a loop of primary-key lookups whatever the statistics say. As a plain join, right
 * after a burst of enrolments (tables not yet analysed, so `removed_at IS NULL` looks like 0.5% of the rows) the
 * planner hashed all 10,000 devices per batch: 3-4 ms a statement instead of 0.2. Exported for the query-plan tests.
 */
export const lookupStatement = (tokens: string, devices: string, flows: string) =>
  `SELECT u.i, row_to_json(t) AS token, row_to_json(d) AS device, row_to_json(f) AS flow
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(token_hash, device_id, i)
       LEFT JOIN LATERAL (SELECT * FROM ${tokens} WHERE token_hash = u.token_hash LIMIT 1) t ON true
       LEFT JOIN LATERAL (SELECT * FROM ${devices} WHERE device_id = u.device_id AND removed_at IS NULL LIMIT 1) d
         ON true
       LEFT JOIN LATERAL (SELECT * FROM ${flows} WHERE id = t.flow_id LIMIT 1) f ON true`;

/**
 * `lookup` and `applyResponse` on PostgreSQL (decision 0043).
 *
 * `lookup` coalesces: the reads of every response waiting at that moment go in one statement (token, device and
 * the token's flow joined), one round trip for many responses. `applyResponse` is composed from the store's
 * coalesced writes ({@link composeResponsePorts}): consume, flow move, revocation, timers, then the group-committed
 * audit chain.
 */
export function createResponsePorts(
  context: PgContext,
  ports: ResponsePortsBase,
): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const devices = context.table('devices');
  const flows = context.table('flows');
  const composed = composeResponsePorts(ports);
  const lookupSql = lookupStatement(tokens, devices, flows);

  const lookupMany = coalesce<{ tokenHash: string; deviceId: string }, Row>(async (calls) => {
    const { rows } = await query(lookupSql, [calls.map((c) => c.tokenHash), calls.map((c) => c.deviceId)]);
    const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
    return calls.map((_, i) => byIndex.get(i + 1) ?? {});
  });

  return {
    async lookup(tokenHash, deviceId) {
      const row = await lookupMany({ tokenHash, deviceId });
      return {
        ...(row.token ? { token: toStored(row.token as Row) } : {}),
        ...(row.device ? { device: toDevice(row.device as Row) } : {}),
        ...(row.flow ? { flow: toFlow(row.flow as Row) } : {}),
      };
    },
    // The composed writes (consume, flow move, revocation, timers, audit) are each a coalesced statement shared by
    // every waiting response. One CTE statement per batch for all of them measured half the throughput (359 vs 785
    // responses/s in the same conditions): it holds every row lock of the batch until its single commit.
    applyResponse: (input) => composed.applyResponse(input),
  };
}
