import type { ActionTokenRecord, ActionTokenStore, ConsumeResult } from '@idrelay/core';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

const toRecord = (row: Row): ActionTokenRecord => {
  const record: ActionTokenRecord = {
    tokenHash: str(row.token_hash)!,
    notificationId: str(row.notification_id)!,
    userId: str(row.user_id)!,
    deviceId: str(row.device_id)!,
    actions: row.actions as string[],
    expiresAt: num(row.expires_at)!,
    createdAt: num(row.created_at)!,
  };
  const flowId = str(row.flow_id);
  const codeHash = str(row.code_hash);
  if (flowId !== undefined) record.flowId = flowId;
  if (codeHash !== undefined) record.codeHash = codeHash;
  return record;
};

/** {@link ActionTokenStore} on the `action_tokens` table, keyed by the token's hash. */
export function createActionTokenStore(context: PgContext): ActionTokenStore {
  const { query } = context;
  const tokens = context.table('action_tokens');
  return {
    put: async (record) => {
      await query(
        `INSERT INTO ${tokens} (token_hash, notification_id, user_id, device_id, actions, flow_id, code_hash,
           expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          record.tokenHash,
          record.notificationId,
          record.userId,
          record.deviceId,
          JSON.stringify(record.actions),
          record.flowId ?? null,
          record.codeHash ?? null,
          record.expiresAt,
          record.createdAt,
        ],
      );
    },
    consume: async (tokenHash, now): Promise<ConsumeResult> => {
      // One UPDATE decides. Concurrent consumers queue on the row lock; when the winner commits, PostgreSQL
      // re-checks `used_at IS NULL` against the new row version for the others, so exactly one gets a row back.
      const won = await query(
        `UPDATE ${tokens} SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
         RETURNING *`,
        [tokenHash, now],
      );
      if (won.rows[0] !== undefined) return { status: 'ok', record: toRecord(won.rows[0]) };
      const { rows } = await query(`SELECT * FROM ${tokens} WHERE token_hash = $1`, [tokenHash]);
      const row = rows[0];
      if (row === undefined) return { status: 'unknown' };
      const record = toRecord(row);
      if (row.used_at !== null) return { status: 'used', record };
      if (row.revoked_at !== null) return { status: 'revoked', record };
      if (num(row.expires_at)! <= now) return { status: 'expired', record };
      // Unused, unrevoked and unexpired, yet our UPDATE missed it: a concurrent consumer took it and its
      // commit is not visible to this read yet. Someone used it.
      return { status: 'used', record };
    },
    revokeByNotification: async (notificationId, at) => {
      const result = await query(
        `UPDATE ${tokens} SET revoked_at = $2 WHERE notification_id = $1 AND used_at IS NULL AND revoked_at IS NULL`,
        [notificationId, at],
      );
      return result.rowCount ?? 0;
    },
  };
}
