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
 * `applyResponse` is one statement when the decision emits no outgoing entries: data-modifying CTEs consume the
 * token, move the flow at its expected version, revoke the notification's other tokens and delete the timers, all
 * or nothing, in one round trip. Each step runs only if the step before it wrote (the flow only if the token was
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

  const applySql = `WITH c AS (
      UPDATE ${tokens} SET used_at = $2
      WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
      RETURNING *),
    m AS (
      UPDATE ${flows} SET state = coalesce($4, state), data = coalesce($5::json, data),
        transitions = coalesce($6, transitions), updated_at = $7, version = version + 1
      WHERE id = $3 AND version = $8 AND EXISTS (SELECT 1 FROM c)
      RETURNING id),
    go AS (SELECT 1 WHERE EXISTS (SELECT 1 FROM c) AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM m))),
    r AS (
      UPDATE ${tokens} SET revoked_at = $2
      WHERE token_hash IN (
        SELECT token_hash FROM ${tokens}
        WHERE notification_id = $9 AND token_hash <> $1 AND used_at IS NULL AND revoked_at IS NULL
          AND EXISTS (SELECT 1 FROM go)
        FOR UPDATE SKIP LOCKED)
      RETURNING 1),
    x AS (
      DELETE FROM ${timers} WHERE id = ANY($10::text[]) AND EXISTS (SELECT 1 FROM go)
      RETURNING 1)
    SELECT (SELECT row_to_json(c) FROM c) AS consumed, EXISTS (SELECT 1 FROM m) AS moved,
      (SELECT count(*) FROM r) AS revoked, (SELECT count(*) FROM x) AS cancelled`;

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
      const { rows } = await query(applySql, [
        input.tokenHash,
        input.at,
        flow?.id ?? null,
        flow?.patch.state ?? null,
        flow?.patch.data === undefined ? null : JSON.stringify(flow.patch.data),
        flow?.patch.transitions ?? null,
        flow?.patch.updatedAt ?? input.at,
        flow?.expectedVersion ?? 0,
        input.revokeNotification ?? null,
        input.cancelTimers ?? [],
      ]);
      const row = rows[0]!;
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
