import type {
  ActionTokenStore,
  ApplyResponseInput,
  ApplyResponseResult,
  ConsumeResult,
  ResponsePortsBase,
} from '@idrelay/core';
import { chainAuditEntries } from '@idrelay/core';
import { toRecord, toStored } from './action-tokens.js';
import { textArray } from './array-literal.js';
import type { createAuditStore } from './audit.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { num, prepared, str } from './context.js';
import { toDevice } from './devices.js';
import { toFlow } from './flows.js';
import { ONE_PLAN } from './outbox/claim.js';
import { appendOutgoing, dueAt } from './outgoing.js';

/**
 * The coalesced read of {@link ActionTokenStore.lookup} (`$1` token hashes, `$2` device ids, `$3` user-flow kinds or
 * null): each token, the live device named, the token's flow and the flow of that kind keyed by the token's user,
 * one row per call in call order (`i`). Each table is reached through a `LATERAL … LIMIT 1` probe: a loop of
 * primary-key (or unique-key) lookups whatever the statistics say. As a plain join, right after a burst of
 * enrolments (tables not yet analysed, so `removed_at IS NULL` looks like 0.5% of the rows) the planner hashed all
 * 10,000 devices per batch: 3-4 ms a statement instead of 0.2. Exported for the query-plan tests.
 */
export const lookupStatement = (tokens: string, devices: string, flows: string) =>
  `SELECT u.i, row_to_json(t) AS token, row_to_json(d) AS device, row_to_json(f) AS flow,
         row_to_json(k) AS user_flow
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(token_hash, device_id, user_flow_kind, i)
       LEFT JOIN LATERAL (SELECT * FROM ${tokens} WHERE token_hash = u.token_hash LIMIT 1) t ON true
       LEFT JOIN LATERAL (SELECT * FROM ${devices} WHERE device_id = u.device_id AND removed_at IS NULL LIMIT 1) d
         ON true
       LEFT JOIN LATERAL (SELECT * FROM ${flows} WHERE id = t.flow_id LIMIT 1) f ON true
       LEFT JOIN LATERAL (SELECT * FROM ${flows} WHERE kind = u.user_flow_kind AND key = t.user_id LIMIT 1) k ON true`;

/** What the batched apply needs of the audit store beyond its port. */
export type ResponseAudit = Pick<
  ReturnType<typeof createAuditStore>,
  'appendWithin' | 'expectedHead' | 'remember' | 'appendValues'
>;

/**
 * The first statement of an answer batch: consume every token (`$1` hashes, `$2` times) and move the flows of the
 * tokens won (`$3` flow ids or null, `$4` states, `$5` data as JSON text, `$6` transitions, `$7` update times, `$8`
 * expected versions; null keeps a column). Returns the consumed rows, each with `moved_flow`.
 */
export const consumeAndMoveStatement = (tokens: string, flows: string) => `WITH u AS MATERIALIZED (
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[],
        $8::int[]) AS u(h, at, fid, state, data, transitions, updated, expected)),
    c AS (
      UPDATE ${tokens} t SET used_at = u.at FROM u
      WHERE t.token_hash = u.h AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > u.at
      RETURNING t.*),
    m AS (
      UPDATE ${flows} f SET state = coalesce(u.state, f.state), data = coalesce(u.data::json, f.data),
        transitions = coalesce(u.transitions, f.transitions), updated_at = u.updated, version = f.version + 1
      FROM u WHERE f.id = u.fid AND f.version = u.expected AND u.h IN (SELECT token_hash FROM c)
      RETURNING f.id)
    SELECT c.*, EXISTS (SELECT 1 FROM u JOIN m ON m.id = u.fid WHERE u.h = c.token_hash) AS moved_flow FROM c`;

/**
 * The second statement of an answer batch, for the answers that went through. It revokes the other unused tokens
 * of their notifications (`$1` ids, `$2` times), skipping tokens another transaction holds: two devices of one user
 * answering at once in two transactions each hold their own token and both want the flow, and waiting here for the
 * other's token would close a cycle PostgreSQL breaks only after `deadlock_timeout` (1 s); the skipped token is the
 * other answer's, consumed by it or refused with it. It deletes their timers (`$3` ids) and appends their audit
 * entries after the expected head (`$4` … `$16`, as `appendValues` lays them out), only if the head is still the
 * expected one. Returns how many entries were written.
 */
export const settleAnswersStatement = (tokens: string, timers: string, audit: string, head: string) => `WITH r AS (
      UPDATE ${tokens} t SET revoked_at = v.at
      FROM (SELECT DISTINCT ON (id) id, at FROM unnest($1::text[], $2::bigint[]) AS v(id, at)) AS v
      WHERE t.notification_id = v.id AND t.token_hash IN (
        SELECT token_hash FROM ${tokens} WHERE notification_id = ANY($1::text[])
          AND used_at IS NULL AND revoked_at IS NULL
        FOR UPDATE SKIP LOCKED)
      RETURNING 1),
    x AS (DELETE FROM ${timers} WHERE id = ANY($3::text[]) RETURNING 1),
    moved AS (
      UPDATE ${head} SET seq = $13, hash = $14
      WHERE id = 1 AND seq = $15 AND hash = $16 AND cardinality($4::bigint[]) > 0 RETURNING 1),
    ins AS (
      INSERT INTO ${audit} (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
      SELECT * FROM unnest($4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::json[],
        $11::text[], $12::text[])
      WHERE EXISTS (SELECT 1 FROM moved)
      RETURNING 1)
    SELECT (SELECT count(*) FROM ins)::int AS audited, (SELECT count(*) FROM r)::int AS revoked,
      (SELECT count(*) FROM x)::int AS cancelled`;

/** SQLSTATEs after which the whole batch transaction is simply run again: deadlock, serialisation failure. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * `lookup` and `applyResponse` on PostgreSQL (decision 0043).
 *
 * `lookup` coalesces: the reads of every response waiting at that moment go in one statement (token, device and
 * the token's flow, each by primary key), one round trip for many responses.
 *
 * `applyResponse` coalesces too, into one transaction per batch of waiting responses, two statements in it: the
 * first consumes every token and moves the flows of the tokens won, each at its expected version
 * ({@link consumeAndMoveStatement}); the second, for the responses whose flow moved, revokes the other approvers'
 * tokens, deletes the timers and appends the audit entries after the head this store expects, only if the head is
 * still there ({@link settleAnswersStatement}; when another writer moved it, the entries are appended again after
 * the head locked and read afresh). Outgoing entries, when there are any, go between the two. Then one COMMIT. A
 * response is therefore applied whole or not at all, even across a crash, as on SQLite; and a batch of 15 answers
 * costs four round trips (BEGIN with the pinned plan settings, the two statements, COMMIT) and one commit. A token
 * or flow named twice in one batch waits for the next transaction, so no row is updated twice in a statement and
 * the second answer sees the first.
 */
export function createResponsePorts(
  context: PgContext,
  ports: Pick<ResponsePortsBase, 'actionTokens'> & { audit: ResponseAudit },
): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const devices = context.table('devices');
  const flows = context.table('flows');
  // Prepared once per connection: these run for every batch of answers.
  const lookupSql = prepared(lookupStatement(tokens, devices, flows));
  const consumeSql = prepared(consumeAndMoveStatement(tokens, flows));
  const settleSql = prepared(
    settleAnswersStatement(tokens, context.table('timers'), context.table('audit'), context.table('audit_head')),
  );

  const lookupMany = coalesce<{ tokenHash: string; deviceId: string; userFlowKind: string | null }, Row>(
    async (calls) => {
      const { rows } = await query(lookupSql, [
        calls.map((c) => c.tokenHash),
        calls.map((c) => c.deviceId),
        calls.map((c) => c.userFlowKind),
      ]);
      const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
      return calls.map((_, i) => byIndex.get(i + 1) ?? {});
    },
  );

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
  const applyBatch = async (batch: readonly ApplyResponseInput[]): Promise<Applied[]> => {
    try {
      return await context.transaction(async (tx) => {
        const column = <T>(pick: (input: ApplyResponseInput) => T) => batch.map(pick);
        const { rows: won } = await tx(consumeSql, [
          column((i) => i.tokenHash),
          column((i) => i.at),
          column((i) => i.flow?.id ?? null),
          column((i) => i.flow?.patch.state ?? null),
          column((i) => (i.flow?.patch.data === undefined ? null : JSON.stringify(i.flow.patch.data))),
          column((i) => i.flow?.patch.transitions ?? null),
          column((i) => i.flow?.patch.updatedAt ?? i.at),
          column((i) => i.flow?.expectedVersion ?? 0),
        ]);
        const consumed = new Map(won.map((row) => [str(row.token_hash)!, row]));
        // Only an answer whose flow moved (or that has none) writes the rest; a lost flow race keeps just the
        // consumed token, as the port says.
        const going = batch.filter((i) => {
          const row = consumed.get(i.tokenHash);
          return row !== undefined && (i.flow === undefined || row.moved_flow === true);
        });
        const emitted = going.flatMap((i) => dueAt(i.flow?.emit, i.flow!.patch.updatedAt));
        if (emitted.length > 0) await appendOutgoing(context, tx, emitted);
        const entries = going.flatMap((i) => i.audit ?? []);
        const revoking = going.filter((i) => i.revokeNotification !== undefined);
        const cancelled = going.flatMap((i) => i.cancelTimers ?? []);
        if (entries.length > 0 || revoking.length > 0 || cancelled.length > 0) {
          // Chained after the head this store expects — which may be the head a batch still in flight is about to
          // write: its commit makes our conditional append succeed, its rollback makes it fall back below.
          const after = await ports.audit.expectedHead();
          const chained = entries.length > 0 ? chainAuditEntries(after, entries) : [];
          if (chained.length > 0) ports.audit.remember(chained.at(-1));
          const { rows } = await tx(settleSql, [
            revoking.map((i) => i.revokeNotification!),
            revoking.map((i) => i.at),
            textArray(cancelled),
            ...(chained.length > 0
              ? ports.audit.appendValues(chained, after)
              : [[], [], [], [], [], [], [], [], [], 0, '', after.seq, after.hash]),
          ]);
          if (chained.length > 0 && num(rows[0]?.audited) !== chained.length) {
            // Another writer moved the head since: append after the head locked and read afresh.
            ports.audit.remember((await ports.audit.appendWithin(tx, entries)).at(-1));
          }
        }
        return batch.map((i) => {
          const row = consumed.get(i.tokenHash);
          const applied: Applied = { moved: i.flow !== undefined && row?.moved_flow === true };
          if (row !== undefined) applied.won = row;
          return applied;
        });
      }, ONE_PLAN);
    } catch (error) {
      // The head this batch announced was not written: read it afresh next time.
      ports.audit.remember(undefined);
      throw error;
    }
  };

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
    async lookup(tokenHash, deviceId, options = {}) {
      const userFlowKind = options.userFlowKind ?? null;
      const row = await lookupMany({ tokenHash, deviceId, userFlowKind });
      return {
        ...(row.token ? { token: toStored(row.token as Row) } : {}),
        ...(row.device ? { device: toDevice(row.device as Row) } : {}),
        ...(row.flow ? { flow: toFlow(row.flow as Row) } : {}),
        ...(row.token && userFlowKind !== null
          ? { userFlow: row.user_flow ? toFlow(row.user_flow as Row) : null }
          : {}),
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
