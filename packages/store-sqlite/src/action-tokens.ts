import type {
  ActionTokenRecord,
  ActionTokenStore,
  ApplyResponseResult,
  ConsumeResult,
  ResponseLookup,
  StoredActionToken,
  TokenPurpose,
} from '@idrelay/core';
import { appendAudit } from './audit.js';
import { LIVE, toDevice } from './devices.js';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';
import { toFlow, tryMoveFlow } from './flows.js';

const toRecord = (row: Row): ActionTokenRecord => {
  const record: ActionTokenRecord = {
    tokenHash: text(row.token_hash)!,
    notificationId: text(row.notification_id)!,
    userId: text(row.user_id)!,
    deviceId: text(row.device_id)!,
    actions: JSON.parse(text(row.actions)!) as string[],
    expiresAt: int(row.expires_at)!,
    createdAt: int(row.created_at)!,
  };
  const flowId = text(row.flow_id);
  const codeHash = text(row.code_hash);
  const purpose = text(row.purpose) as TokenPurpose | undefined;
  if (flowId !== undefined) record.flowId = flowId;
  if (codeHash !== undefined) record.codeHash = codeHash;
  if (purpose !== undefined) record.purpose = purpose;
  return record;
};

const INSERT = `INSERT INTO action_tokens (token_hash, notification_id, user_id, device_id, actions, flow_id, code_hash,
  purpose, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const values = (record: ActionTokenRecord) =>
  [
    record.tokenHash,
    record.notificationId,
    record.userId,
    record.deviceId,
    JSON.stringify(record.actions),
    record.flowId ?? null,
    record.codeHash ?? null,
    // NULL is an action token: rows written before migration 5 read the same.
    record.purpose === undefined || record.purpose === 'action' ? null : record.purpose,
    record.expiresAt,
    record.createdAt,
  ] as const;

const toStored = (row: Row): StoredActionToken => {
  const usedAt = int(row.used_at);
  const revokedAt = int(row.revoked_at);
  return {
    record: toRecord(row),
    attempts: int(row.attempts) ?? 0,
    ...(usedAt !== undefined ? { usedAt } : {}),
    ...(revokedAt !== undefined ? { revokedAt } : {}),
  };
};

const BY_HASH = 'SELECT * FROM action_tokens WHERE token_hash = ?';

/** Uses a token (`used_at`, `token_hash`, `now`) unless it is used, revoked or expired. */
const CONSUME = `UPDATE action_tokens SET used_at = ?
  WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`;

/** {@link ActionTokenStore} on the `action_tokens` table, keyed by the token's hash. */
export function createActionTokenStore(context: SqliteContext): ActionTokenStore {
  const { statement, run, read, transaction } = context;
  /** `consume` inside the caller's transaction; `known`: the token's record, when the caller read it already. */
  const consumeNow = (tokenHash: string, now: number, known?: ActionTokenRecord): ConsumeResult => {
    // One statement decides: of many concurrent consumers, only the one whose UPDATE changed the row wins.
    if (known !== undefined && known.tokenHash === tokenHash) {
      const changed = statement(CONSUME).run(now, tokenHash, now).changes;
      if (Number(changed) === 1) return { status: 'ok', record: known };
    } else {
      const won = statement(`${CONSUME} RETURNING *`).get(now, tokenHash, now) as Row | undefined;
      if (won !== undefined) return { status: 'ok', record: toRecord(won) };
    }
    const row = statement(BY_HASH).get(tokenHash) as Row | undefined;
    if (row === undefined) return { status: 'unknown' };
    const record = toRecord(row);
    if (row.used_at !== null) return { status: 'used', record };
    if (row.revoked_at !== null) return { status: 'revoked', record };
    return { status: 'expired', record };
  };
  const revokeNotification = (notificationId: string, at: number): number =>
    Number(
      statement(
        `UPDATE action_tokens SET revoked_at = ?
         WHERE notification_id = ? AND used_at IS NULL AND revoked_at IS NULL`,
      ).run(at, notificationId).changes,
    );
  return {
    put: (record) =>
      run(() => {
        statement(INSERT).run(...values(record));
      }),
    putMany: (records) =>
      run(() =>
        transaction(() => {
          const insert = statement(INSERT);
          for (const record of records) insert.run(...values(record));
        }),
      ),
    putOnce: (record) =>
      run(
        () => Number(statement(`${INSERT} ON CONFLICT (token_hash) DO NOTHING`).run(...values(record)).changes) === 1,
      ),
    get: (tokenHash) =>
      read((): StoredActionToken | undefined => {
        const row = statement(BY_HASH).get(tokenHash) as Row | undefined;
        return row === undefined ? undefined : toStored(row);
      }),
    consume: (tokenHash, now) => run(() => consumeNow(tokenHash, now)),
    recordFailure: (tokenHash) =>
      run(() => {
        const row = statement(
          'UPDATE action_tokens SET attempts = attempts + 1 WHERE token_hash = ? RETURNING attempts',
        ).get(tokenHash) as Row | undefined;
        return row === undefined ? 0 : int(row.attempts)!;
      }),
    revokeByNotification: (notificationId, at) => run(() => revokeNotification(notificationId, at)),
    revokeByDevice: (deviceId, at) =>
      run(() =>
        Number(
          statement(
            `UPDATE action_tokens SET revoked_at = ?
             WHERE device_id = ? AND used_at IS NULL AND revoked_at IS NULL AND purpose IS NULL`,
          ).run(at, deviceId).changes,
        ),
      ),
    lookup: (tokenHash, deviceId, options = {}) =>
      read((): ResponseLookup => {
        // node:sqlite never yields: the reads see one state.
        const row = statement(BY_HASH).get(tokenHash) as Row | undefined;
        const device = statement(`SELECT * FROM devices WHERE device_id = ? AND ${LIVE}`).get(deviceId) as
          | Row
          | undefined;
        const flowId = row === undefined ? undefined : text(row.flow_id);
        const flow =
          flowId === undefined
            ? undefined
            : (statement('SELECT * FROM flows WHERE id = ?').get(flowId) as Row | undefined);
        const kind = row === undefined ? undefined : options.userFlowKind;
        const userFlow =
          kind === undefined
            ? undefined
            : (statement('SELECT * FROM flows WHERE kind = ? AND key = ?').get(kind, text(row!.user_id)!) as
                | Row
                | undefined);
        return {
          ...(row !== undefined ? { token: toStored(row) } : {}),
          ...(device !== undefined ? { device: toDevice(device) } : {}),
          ...(flow !== undefined ? { flow: toFlow(flow) } : {}),
          ...(kind !== undefined ? { userFlow: userFlow === undefined ? null : toFlow(userFlow) } : {}),
        };
      }),
    applyResponse: (input) =>
      run(() =>
        transaction((): ApplyResponseResult => {
          const consumed = consumeNow(input.tokenHash, input.at, input.record);
          if (consumed.status !== 'ok') return { consumed };
          let moved: ApplyResponseResult['flow'];
          if (input.flow !== undefined) {
            const { id, expectedVersion, patch, emit } = input.flow;
            moved = tryMoveFlow(context, id, expectedVersion, patch, emit) ? 'moved' : 'conflict';
            if (moved === 'conflict') return { consumed, flow: moved };
          }
          if (input.revokeNotification !== undefined) revokeNotification(input.revokeNotification, input.at);
          if (input.cancelTimers !== undefined && input.cancelTimers.length > 0) {
            statement('DELETE FROM timers WHERE id IN (SELECT value FROM json_each(?))').run(
              JSON.stringify(input.cancelTimers),
            );
          }
          if (input.audit !== undefined && input.audit.length > 0) appendAudit(context, input.audit);
          return moved === undefined ? { consumed } : { consumed, flow: moved };
        }),
      ),
  };
}
