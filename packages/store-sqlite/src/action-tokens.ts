import type {
  ActionTokenRecord,
  ActionTokenStore,
  ConsumeResult,
  StoredActionToken,
  TokenPurpose,
} from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';

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

/** {@link ActionTokenStore} on the `action_tokens` table, keyed by the token's hash. */
export function createActionTokenStore(context: SqliteContext): ActionTokenStore {
  const { statement, run, transaction } = context;
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
      run((): StoredActionToken | undefined => {
        const row = statement('SELECT * FROM action_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined;
        if (row === undefined) return undefined;
        const usedAt = int(row.used_at);
        const revokedAt = int(row.revoked_at);
        return {
          record: toRecord(row),
          attempts: int(row.attempts) ?? 0,
          ...(usedAt !== undefined ? { usedAt } : {}),
          ...(revokedAt !== undefined ? { revokedAt } : {}),
        };
      }),
    consume: (tokenHash, now) =>
      run((): ConsumeResult => {
        // One statement decides: of many concurrent consumers, only the one whose UPDATE changed the row wins.
        const won = statement(
          `UPDATE action_tokens SET used_at = ?
           WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
           RETURNING *`,
        ).get(now, tokenHash, now) as Row | undefined;
        if (won !== undefined) return { status: 'ok', record: toRecord(won) };
        const row = statement('SELECT * FROM action_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined;
        if (row === undefined) return { status: 'unknown' };
        const record = toRecord(row);
        if (row.used_at !== null) return { status: 'used', record };
        if (row.revoked_at !== null) return { status: 'revoked', record };
        return { status: 'expired', record };
      }),
    recordFailure: (tokenHash) =>
      run(() => {
        const row = statement(
          'UPDATE action_tokens SET attempts = attempts + 1 WHERE token_hash = ? RETURNING attempts',
        ).get(tokenHash) as Row | undefined;
        return row === undefined ? 0 : int(row.attempts)!;
      }),
    revokeByNotification: (notificationId, at) =>
      run(() =>
        Number(
          statement(
            `UPDATE action_tokens SET revoked_at = ?
             WHERE notification_id = ? AND used_at IS NULL AND revoked_at IS NULL`,
          ).run(at, notificationId).changes,
        ),
      ),
    revokeByDevice: (deviceId, at) =>
      run(() =>
        Number(
          statement(
            `UPDATE action_tokens SET revoked_at = ?
             WHERE device_id = ? AND used_at IS NULL AND revoked_at IS NULL AND purpose IS NULL`,
          ).run(at, deviceId).changes,
        ),
      ),
  };
}
