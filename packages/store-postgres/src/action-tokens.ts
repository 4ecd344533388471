import type {
  ActionTokenRecord,
  ActionTokenStore,
  ConsumeResult,
  StoredActionToken,
  TokenPurpose,
} from '@idrelay/core';
import { coalesce, coalesceReads } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { num, str } from './context.js';

export const toRecord = (row: Row): ActionTokenRecord => {
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

export const toStored = (row: Row): StoredActionToken => {
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
export function createActionTokenStore(context: PgContext): Omit<ActionTokenStore, 'lookup' | 'applyResponse'> {
  const { query } = context;
  const tokens = context.table('action_tokens');
  const insert = `INSERT INTO ${tokens} ${COLUMNS} VALUES`;
  const byHash = coalesceReads(async (hashes) => {
    const { rows } = await query(`SELECT * FROM ${tokens} WHERE token_hash = ANY($1::text[])`, [hashes]);
    return new Map(rows.map((row) => [str(row.token_hash)!, row]));
  }, toStored);
  // Consumes coalesce into one UPDATE. Concurrent consumers of one token in other statements queue on the row lock;
  // when the winner commits, PostgreSQL re-checks `used_at IS NULL` against the new row version for the others, so
  // exactly one gets its hash back. Within one statement a token is asked for once: only the first call of a hash
  // takes part, and later calls of it in that batch lose (the first one either won it, or it cannot be won now).
  const consumeOne = coalesce<{ tokenHash: string; now: number }, Row | undefined>(async (calls) => {
    const first = new Map<string, number>();
    calls.forEach((call, i) => {
      if (!first.has(call.tokenHash)) first.set(call.tokenHash, i);
    });
    const taking = [...first.values()].map((i) => calls[i]!);
    const { rows } = await query(
      `UPDATE ${tokens} t SET used_at = u.now FROM unnest($1::text[], $2::bigint[]) AS u(token_hash, now)
       WHERE t.token_hash = u.token_hash AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > u.now
       RETURNING t.*`,
      [taking.map((c) => c.tokenHash), taking.map((c) => c.now)],
    );
    const won = new Map(rows.map((row) => [str(row.token_hash)!, row]));
    return calls.map((call, i) => (first.get(call.tokenHash) === i ? won.get(call.tokenHash) : undefined));
  });
  // Revocations of many notifications coalesce into one UPDATE; each call gets the count of rows it revoked (a
  // notification asked for twice in one statement: the first call gets the count, the second 0, as in sequence).
  const revokeNotification = coalesce<{ id: string; at: number }, number>(async (calls) => {
    const { rows } = await query(
      `WITH revoked AS (
         UPDATE ${tokens} t SET revoked_at = u.at
         FROM (SELECT DISTINCT ON (id) id, at FROM unnest($1::text[], $2::bigint[]) AS v(id, at)) AS u
         WHERE t.notification_id = u.id AND t.used_at IS NULL AND t.revoked_at IS NULL
         RETURNING t.notification_id)
       SELECT notification_id, count(*)::int AS n FROM revoked GROUP BY notification_id`,
      [calls.map((c) => c.id), calls.map((c) => c.at)],
    );
    const counts = new Map(rows.map((row) => [str(row.notification_id)!, num(row.n)!]));
    return calls.map((call) => {
      const n = counts.get(call.id) ?? 0;
      counts.delete(call.id);
      return n;
    });
  });
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
      const won = await consumeOne({ tokenHash, now });
      if (won !== undefined) return { status: 'ok', record: toRecord(won) };
      const stored = await byHash(tokenHash);
      if (stored === undefined) return { status: 'unknown' };
      const { record } = stored;
      if (stored.usedAt !== undefined) return { status: 'used', record };
      if (stored.revokedAt !== undefined) return { status: 'revoked', record };
      if (record.expiresAt <= now) return { status: 'expired', record };
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
    revokeByNotification: (notificationId, at) => revokeNotification({ id: notificationId, at }),
    revokeByDevice: (deviceId, at) => revoke('device_id', deviceId, at, ' AND purpose IS NULL'),
  };
}
