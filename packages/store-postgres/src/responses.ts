import type { ActionTokenStore, ApplyResponseResult, ConsumeResult, ResponsePortsBase } from '@idrelay/core';
import { composeResponsePorts } from '@idrelay/core';
import { toRecord, toStored } from './action-tokens.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { toDevice } from './devices.js';
import { toFlow } from './flows.js';

/**
 * `lookup` and `applyResponse` on PostgreSQL (decision 0043).
 *
 * `lookup` coalesces: the reads of every response waiting at that moment go in one statement (token, device and
 * the token's flow joined), one round trip for many responses.
 *
 * `applyResponse` is one statement when the decision emits no outgoing entries, coalesced like the other writes
 * (decision 0042): data-modifying CTEs consume the tokens, move the flows at their expected versions, revoke the
 * notifications' other tokens and delete the timers, for every response waiting at that moment, in one round trip
 * and one commit. Each step runs only if the step before it wrote (the flow only if the token was
 * consumed; the rest only if the flow moved or there is none). Sibling tokens locked by a concurrent statement are
 * skipped rather than waited for (`SKIP LOCKED`): such a token is being consumed by a response of its own, which then
 * finds the flow decided; waiting for it could deadlock two responses that each hold what the other needs. The audit
 * entries follow through the group-committed audit chain. A decision with outgoing entries (a write-back) takes the
 * composed path, whose flow update appends them in its own transaction.
 */
export function createResponsePorts(
  context: PgContext,
  ports: ResponsePortsBase,
): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const devices = context.table('devices');
  const flows = context.table('flows');
  const timers = context.table('timers');
  const composed = composeResponsePorts(ports);

  const lookupMany = coalesce<{ tokenHash: string; deviceId: string }, Row>(async (calls) => {
    const { rows } = await query(
      `SELECT u.i, row_to_json(t) AS token, row_to_json(d) AS device, row_to_json(f) AS flow
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(token_hash, device_id, i)
       LEFT JOIN ${tokens} t ON t.token_hash = u.token_hash
       LEFT JOIN ${devices} d ON d.device_id = u.device_id AND d.removed_at IS NULL
       LEFT JOIN ${flows} f ON f.id = t.flow_id`,
      [calls.map((c) => c.tokenHash), calls.map((c) => c.deviceId)],
    );
    const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
    return calls.map((_, i) => byIndex.get(i + 1) ?? {});
  });

  // One statement for every response waiting at that moment: each input row's token is consumed, its flow moved at
  // its expected version only if the token was, then siblings revoked and timers deleted only for rows that went
  // through. A batch holds each token and each flow once (later duplicates wait for the next statement), so a row is
  // never updated twice in one statement.
  const applySql = `WITH v AS (
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[],
        $8::int[], $9::text[], $10::text[])
        AS v(h, at, fid, state, data, transitions, updated, version, notif, timers)),
    c AS (
      UPDATE ${tokens} t SET used_at = v.at FROM v
      WHERE t.token_hash = v.h AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > v.at
      RETURNING t.*),
    m AS (
      UPDATE ${flows} f SET state = coalesce(v.state, f.state), data = coalesce(v.data::json, f.data),
        transitions = coalesce(v.transitions, f.transitions), updated_at = v.updated, version = f.version + 1
      FROM v WHERE f.id = v.fid AND f.version = v.version AND v.h IN (SELECT token_hash FROM c)
      RETURNING f.id),
    go AS (
      SELECT v.* FROM v
      WHERE v.h IN (SELECT token_hash FROM c) AND (v.fid IS NULL OR v.fid IN (SELECT id FROM m))),
    r AS (
      UPDATE ${tokens} t SET revoked_at = go.at FROM go
      WHERE t.notification_id = go.notif AND t.token_hash IN (
        SELECT token_hash FROM ${tokens}
        WHERE notification_id IN (SELECT notif FROM go) AND used_at IS NULL AND revoked_at IS NULL
          AND token_hash NOT IN (SELECT h FROM v)
        FOR UPDATE SKIP LOCKED)
      RETURNING 1),
    x AS (
      DELETE FROM ${timers} WHERE id IN (SELECT json_array_elements_text(go.timers::json) FROM go)
      RETURNING 1)
    SELECT v.h, (SELECT row_to_json(c) FROM c WHERE c.token_hash = v.h) AS consumed,
      coalesce(v.fid IN (SELECT id FROM m), false) AS moved,
      (SELECT count(*) FROM r) AS revoked, (SELECT count(*) FROM x) AS cancelled
    FROM v`;

  type Apply = Parameters<ActionTokenStore['applyResponse']>[0];
  const runBatch = async (batch: Apply[]): Promise<Row[]> => {
    const { rows } = await query(applySql, [
      batch.map((i) => i.tokenHash),
      batch.map((i) => i.at),
      batch.map((i) => i.flow?.id ?? null),
      batch.map((i) => i.flow?.patch.state ?? null),
      batch.map((i) => (i.flow?.patch.data === undefined ? null : JSON.stringify(i.flow.patch.data))),
      batch.map((i) => i.flow?.patch.transitions ?? null),
      batch.map((i) => i.flow?.patch.updatedAt ?? i.at),
      batch.map((i) => i.flow?.expectedVersion ?? 0),
      batch.map((i) => i.revokeNotification ?? null),
      batch.map((i) => JSON.stringify(i.cancelTimers ?? [])),
    ]);
    const byHash = new Map(rows.map((row) => [String(row.h), row]));
    return batch.map((i) => byHash.get(i.tokenHash)!);
  };
  const applyMany = coalesce<Apply, Row>(async (inputs) => {
    const out: Row[] = new Array(inputs.length);
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
      const rows = await runBatch(now.map((item) => item.input));
      now.forEach((item, i) => {
        out[item.index] = rows[i]!;
      });
      pending = later;
    }
    return out;
  });

  /** Why a token could not be consumed, read after the statement that missed it. */
  const refusal = async (tokenHash: string, at: number): Promise<ConsumeResult> => {
    const { rows } = await query(`SELECT * FROM ${tokens} WHERE token_hash = $1`, [tokenHash]);
    if (rows[0] === undefined) return { status: 'unknown' };
    const stored = toStored(rows[0]);
    const { record } = stored;
    if (stored.usedAt !== undefined) return { status: 'used', record };
    if (stored.revokedAt !== undefined) return { status: 'revoked', record };
    if (record.expiresAt <= at) return { status: 'expired', record };
    // Live, yet our UPDATE missed it: a concurrent consumer took it and its commit is not visible to this read yet.
    return { status: 'used', record };
  };

  return {
    async lookup(tokenHash, deviceId) {
      const row = await lookupMany({ tokenHash, deviceId });
      return {
        ...(row.token ? { token: toStored(row.token as Row) } : {}),
        ...(row.device ? { device: toDevice(row.device as Row) } : {}),
        ...(row.flow ? { flow: toFlow(row.flow as Row) } : {}),
      };
    },
    async applyResponse(input) {
      if ((input.flow?.emit?.length ?? 0) > 0) return composed.applyResponse(input);
      const flow = input.flow;
      const row = await applyMany(input);
      if (row.consumed === null || row.consumed === undefined) {
        return { consumed: await refusal(input.tokenHash, input.at) };
      }
      const consumed: ConsumeResult = { status: 'ok', record: toRecord(row.consumed as Row) };
      if (flow !== undefined && row.moved !== true) return { consumed, flow: 'conflict' };
      if (input.audit !== undefined && input.audit.length > 0) await ports.audit.append(input.audit);
      const result: ApplyResponseResult = flow === undefined ? { consumed } : { consumed, flow: 'moved' };
      return result;
    },
  };
}
