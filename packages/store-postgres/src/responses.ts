import type {
  ActionTokenStore,
  ApplyResponseInput,
  ApplyResponseResult,
  AuditEntryInput,
  ConsumeResult,
  ResponsePortsBase,
} from '@idrelay/core';
import { tokenStatements, toRecord, toStored } from './action-tokens.js';
import { textArray } from './array-literal.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Query, Row } from './context.js';
import { prepared, str } from './context.js';
import { toDevice } from './devices.js';
import { moveFlowsStatement, toFlow } from './flows.js';
import { ONE_PLAN } from './outbox/claim.js';
import { appendOutgoing, dueAt } from './outgoing.js';

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

/** What the batched apply needs beyond the other ports: the audit append inside a transaction. */
export interface ResponseAudit {
  appendWithin(tx: Query, entries: readonly AuditEntryInput[]): Promise<unknown>;
}

/** SQLSTATEs after which the whole batch transaction is simply run again: deadlock, serialisation failure. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * `lookup` and `applyResponse` on PostgreSQL (decision 0043).
 *
 * `lookup` coalesces: the reads of every response waiting at that moment go in one statement (token, device and
 * the token's flow, each by primary key), one round trip for many responses.
 *
 * `applyResponse` coalesces too, into one transaction per batch: every waiting response's token is consumed by one
 * UPDATE; the flows of the tokens won are moved by one UPDATE (each at its expected version); then, for the
 * responses whose flow moved, one statement each revokes the other approvers' tokens, deletes the timers, appends
 * the outgoing entries and appends the audit entries (chained after the locked head) — and one COMMIT. A response
 * is therefore applied whole or not at all, even across a crash, as on SQLite; and a batch of 30 answers costs one
 * commit and about eight round trips instead of thirty times that. A token or flow named twice in one batch waits
 * for the next transaction, so no row is updated twice in a statement and the second answer sees the first.
 */
export function createResponsePorts(
  context: PgContext,
  ports: Pick<ResponsePortsBase, 'actionTokens'> & { audit: ResponseAudit },
): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const devices = context.table('devices');
  const flows = context.table('flows');
  const timers = context.table('timers');
  // Prepared once per connection: these run for every batch of answers.
  const lookupSql = prepared(lookupStatement(tokens, devices, flows));
  const tokenSql = tokenStatements(tokens);
  const consumeSql = prepared(tokenSql.consume);
  const revokeSql = prepared(tokenSql.revokeSiblings);
  const moveSql = prepared(moveFlowsStatement(flows));
  const cancelSql = prepared(`DELETE FROM ${timers} WHERE id = ANY($1::text[])`);

  const lookupMany = coalesce<{ tokenHash: string; deviceId: string }, Row>(async (calls) => {
    const { rows } = await query(lookupSql, [calls.map((c) => c.tokenHash), calls.map((c) => c.deviceId)]);
    const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
    return calls.map((_, i) => byIndex.get(i + 1) ?? {});
  });

  /** What one response got from its batch: the consumed row (undefined: missed), and whether its flow moved. */
  interface Applied {
    won?: Row;
    moved: boolean;
  }

  /**
   * One transaction for `batch` (distinct tokens, distinct flows), its plans pinned to key probes (`ONE_PLAN`):
   * the statements filter on `used_at IS NULL AND revoked_at IS NULL`, which the statistics rate anywhere from all
   * rows (tokens just pushed) to almost none (most tokens answered, after autovacuum's next analyse); rated near
   * none, a whole-table scan looked cheaper than 20 primary-key probes and cost 3-4 ms a statement.
   */
  const applyBatch = (batch: readonly ApplyResponseInput[]): Promise<Applied[]> =>
    context.transaction(async (tx) => {
      const { rows: won } = await tx(consumeSql, [batch.map((i) => i.tokenHash), batch.map((i) => i.at)]);
      const consumed = new Map(won.map((row) => [str(row.token_hash)!, row]));
      const winners = batch.filter((i) => consumed.has(i.tokenHash));
      const moving = winners.filter((i) => i.flow !== undefined);
      const moved = new Set<string>();
      if (moving.length > 0) {
        const { rows } = await tx(moveSql, [
          moving.map((i) => i.flow!.patch.state ?? null),
          moving.map((i) => (i.flow!.patch.data === undefined ? null : JSON.stringify(i.flow!.patch.data))),
          moving.map((i) => i.flow!.patch.transitions ?? null),
          moving.map((i) => i.flow!.patch.updatedAt),
          moving.map((i) => i.flow!.id),
          moving.map((i) => i.flow!.expectedVersion),
        ]);
        for (const row of rows) moved.add(str(row.id)!);
      }
      // Only a response whose flow moved (or that has none) writes the rest; a lost flow race keeps just the
      // consumed token, as the port says.
      const going = winners.filter((i) => i.flow === undefined || moved.has(i.flow.id));
      const revoking = going.filter((i) => i.revokeNotification !== undefined);
      if (revoking.length > 0) {
        await tx(revokeSql, [revoking.map((i) => i.revokeNotification!), revoking.map((i) => i.at)]);
      }
      const cancelled = going.flatMap((i) => i.cancelTimers ?? []);
      if (cancelled.length > 0) await tx(cancelSql, [textArray(cancelled)]);
      const emitted = going.flatMap((i) => dueAt(i.flow?.emit, i.flow!.patch.updatedAt));
      if (emitted.length > 0) await appendOutgoing(context, tx, emitted);
      const entries = going.flatMap((i) => i.audit ?? []);
      if (entries.length > 0) await ports.audit.appendWithin(tx, entries);
      return batch.map((i) => {
        const row = consumed.get(i.tokenHash);
        const applied: Applied = { moved: i.flow !== undefined && moved.has(i.flow.id) };
        if (row !== undefined) applied.won = row;
        return applied;
      });
    }, ONE_PLAN);

  const applyMany = coalesce<ApplyResponseInput, Applied>(async (inputs) => {
    const out: Applied[] = new Array(inputs.length);
    let pending = inputs.map((input, index) => ({ input, index }));
    while (pending.length > 0) {
      const tokensSeen = new Set<string>();
      const flowsSeen = new Set<string>();
      const now: typeof pending = [];
      const later: typeof pending = [];
      for (const item of pending) {
        const flowId = item.input.flow?.id;
        if (tokensSeen.has(item.input.tokenHash) || (flowId !== undefined && flowsSeen.has(flowId))) {
          later.push(item);
          continue;
        }
        tokensSeen.add(item.input.tokenHash);
        if (flowId !== undefined) flowsSeen.add(flowId);
        now.push(item);
      }
      let results: Applied[] | undefined;
      for (let attempt = 0; results === undefined; attempt++) {
        try {
          results = await applyBatch(now.map((item) => item.input));
        } catch (error) {
          const code = (error as { cause?: { code?: unknown } }).cause?.code;
          if (attempt >= 3 || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
        }
      }
      now.forEach((item, i) => {
        out[item.index] = results[i]!;
      });
      pending = later;
    }
    return out;
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
    async applyResponse(input): Promise<ApplyResponseResult> {
      const applied = await applyMany(input);
      if (applied.won === undefined) return { consumed: await ports.actionTokens.consume(input.tokenHash, input.at) };
      const consumed: ConsumeResult = { status: 'ok', record: toRecord(applied.won) };
      if (input.flow === undefined) return { consumed };
      return { consumed, flow: applied.moved ? 'moved' : 'conflict' };
    },
  };
}
