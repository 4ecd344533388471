import type {
  ActionTokenRecord,
  ActionTokenStore,
  ConsumeResult,
  StoredActionToken,
  TokenPurpose,
} from '@idrelay/core';
import { coalesceReads } from './coalesce.js';
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
  const purpose = str(row.purpose) as TokenPurpose | undefined;
  if (flowId !== undefined) record.flowId = flowId;
  if (codeHash !== undefined) record.codeHash = codeHash;
  if (purpose !== undefined) record.purpose = purpose;
  return record;
};

const toStored = (row: Row): StoredActionToken => {
  const usedAt = num(row.used_at);
  const revokedAt = num(row.revoked_at);
  return {
    record: toRecord(row),
    attempts: num(row.attempts) ?? 0,
    ...(usedAt !== undefined ? { usedAt } : {}),
    ...(revokedAt !== undefined ? { revokedAt } : {}),
  };
};

const COLUMNS = `(token_hash, notification_id, user_id, device_id, actions, flow_id, code_hash, purpose, expires_at,
  created_at)`;
const WIDTH = 10;
// 10 parameters a row; PostgreSQL allows 65,535 per statement.
const ROWS_PER_INSERT = 1_000;

const values = (record: ActionTokenRecord): unknown[] => [
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
];

const placeholders = (rows: number): string =>
  Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: WIDTH }, (_, c) => `$${r * WIDTH + c + 1}`).join(', ')})`,
  ).join(', ');

/** {@link ActionTokenStore} on the `action_tokens` table, keyed by the token's hash. */
export function createActionTokenStore(context: PgContext): ActionTokenStore {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const insert = `INSERT INTO ${tokens} ${COLUMNS} VALUES`;
  const byHash = coalesceReads(async (hashes) => {
    const { rows } = await query(`SELECT * FROM ${tokens} WHERE token_hash = ANY($1::text[])`, [hashes]);
    return new Map(rows.map((row) => [str(row.token_hash)!, row]));
  }, toStored);
  const revoke = async (column: 'notification_id' | 'device_id', id: string, at: number, extra = '') => {
    const result = await query(
      `UPDATE ${tokens} SET revoked_at = $2 WHERE ${column} = $1 AND used_at IS NULL AND revoked_at IS NULL${extra}`,
      [id, at],
    );
    return result.rowCount ?? 0;
  };
  return {
    put: async (record) => {
      await query(`${insert} ${placeholders(1)}`, values(record));
    },
    putMany: async (records) => {
      if (records.length === 0) return;
      if (records.length <= ROWS_PER_INSERT) {
        await query(`${insert} ${placeholders(records.length)}`, records.flatMap(values));
        return;
      }
      await context.transaction(async (tx) => {
        for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
          const chunk = records.slice(i, i + ROWS_PER_INSERT);
          await tx(`${insert} ${placeholders(chunk.length)}`, chunk.flatMap(values));
        }
      });
    },
    putOnce: async (record) => {
      const result = await query(`${insert} ${placeholders(1)} ON CONFLICT (token_hash) DO NOTHING`, values(record));
      return result.rowCount === 1;
    },
    get: (tokenHash) => byHash(tokenHash),
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
    recordFailure: async (tokenHash) => {
      // The row lock serialises concurrent increments; each sees the count the one before it committed.
      const { rows } = await query(
        `UPDATE ${tokens} SET attempts = attempts + 1 WHERE token_hash = $1 RETURNING attempts`,
        [tokenHash],
      );
      return rows[0] === undefined ? 0 : num(rows[0].attempts)!;
    },
    revokeByNotification: (notificationId, at) => revoke('notification_id', notificationId, at),
    revokeByDevice: (deviceId, at) => revoke('device_id', deviceId, at, ' AND purpose IS NULL'),
  };
}
