import type { FlowRecord, FlowStore } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import { coalesce, coalesceReads } from './coalesce.js';
import type { PgContext, Row } from './context.js';
import { num, prepared, str } from './context.js';
import { appendOutgoing, dueAt } from './outgoing.js';

export const toFlow = (row: Row): FlowRecord => ({
  id: str(row.id)!,
  kind: str(row.kind)!,
  definitionVersion: num(row.definition_version)!,
  key: str(row.key)!,
  state: str(row.state)!,
  data: row.data as Record<string, unknown>,
  transitions: num(row.transitions)!,
  version: num(row.version)!,
  createdAt: num(row.created_at)!,
  updatedAt: num(row.updated_at)!,
});

/**
 * {@link FlowStore} on the `flows` table; `version` starts at 1 and grows by one per update, and an update's `emit`
 * entries join its transaction.
 */
export function createFlowStore(context: PgContext): FlowStore {
  const { query } = context;
  const flows = context.table('flows');
  const byId = async (id: string) => (await query(`SELECT * FROM ${flows} WHERE id = $1`, [id])).rows[0];
  const read = coalesceReads(async (ids) => {
    const { rows } = await query(`SELECT * FROM ${flows} WHERE id = ANY($1::text[])`, [ids]);
    return new Map(rows.map((row) => [str(row.id)!, row]));
  }, toFlow);
  const byKeysSql = prepared(
    `SELECT f.* FROM ${flows} f JOIN unnest($1::text[], $2::text[]) AS u(kind, key) USING (kind, key)`,
  );
  // Keyed by kind NUL key (a NUL cannot appear in PostgreSQL text, so the pair is unambiguous).
  const readByKey = coalesceReads(async (pairs) => {
    const split = pairs.map((pair) => pair.split('\u0000'));
    const { rows } = await query(byKeysSql, [split.map(([kind]) => kind), split.map(([, key]) => key)]);
    return new Map(rows.map((row) => [`${str(row.kind)!}\u0000${str(row.key)!}`, row]));
  }, toFlow);
  // Updates that emit nothing coalesce into one UPDATE … FROM unnest(…). Each flow takes part once per statement
  // (its first call); a later call for it in the same statement is answered as a lost race, which it is: both
  // were made against the version before either could commit.
  const updateMany = coalesce<unknown[], Row | undefined>(async (calls) => {
    const first = new Map<unknown, number>();
    for (const [i, call] of calls.entries()) if (!first.has(call[4])) first.set(call[4], i);
    const taking = [...first.values()].map((i) => calls[i]!);
    const column = (c: number) => taking.map((call) => call[c]);
    const { rows } = await query(
      `UPDATE ${flows} f SET state = coalesce(u.state, f.state), data = coalesce(u.data::json, f.data),
         transitions = coalesce(u.transitions, f.transitions), updated_at = u.updated_at, version = f.version + 1
       FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::int[])
         AS u(state, data, transitions, updated_at, id, expected)
       WHERE f.id = u.id AND f.version = u.expected RETURNING f.*`,
      [column(0), column(1), column(2), column(3), column(4), column(5)],
    );
    const won = new Map(rows.map((row) => [str(row.id)!, row]));
    return calls.map((call, i) => (first.get(call[4]) === i ? won.get(call[4] as string) : undefined));
  });
  const byKey = async (kind: string, key: string) =>
    (await query(`SELECT * FROM ${flows} WHERE kind = $1 AND key = $2`, [kind, key])).rows[0];

  return {
    create: async (flow) => {
      const inserted = await query(
        `INSERT INTO ${flows} (id, kind, key, definition_version, state, data, transitions, version, created_at,
           updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9)
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          flow.id,
          flow.kind,
          flow.key,
          flow.definitionVersion,
          flow.state,
          JSON.stringify(flow.data),
          flow.transitions,
          flow.createdAt,
          flow.updatedAt,
        ],
      );
      if (inserted.rows[0] !== undefined) return { created: true, flow: toFlow(inserted.rows[0]) };
      // ON CONFLICT waited for a concurrent creator to commit, so its flow is visible to this next statement.
      const existing = await byKey(flow.kind, flow.key);
      if (existing !== undefined) return { created: false, flow: toFlow(existing) };
      throw new IdrelayError(
        'ERR_STORE_CONFLICT',
        `A flow with id ${flow.id} already exists for another kind or key.`,
        {
          details: { id: flow.id, kind: flow.kind, key: flow.key },
        },
      );
    },
    get: (id) => read(id),
    findByKey: (kind, key) => readByKey(`${kind}\u0000${key}`),
    update: async (id, expectedVersion, patch, options = {}) => {
      const emitted = dueAt(options.emit, patch.updatedAt);
      const sql = `UPDATE ${flows} SET state = coalesce($1, state), data = coalesce($2::json, data),
           transitions = coalesce($3, transitions), updated_at = $4, version = version + 1
         WHERE id = $5 AND version = $6 RETURNING *`;
      const values = [
        patch.state ?? null,
        patch.data === undefined ? null : JSON.stringify(patch.data),
        patch.transitions ?? null,
        patch.updatedAt,
        id,
        expectedVersion,
      ];
      const { rows } =
        emitted.length === 0
          ? { rows: [await updateMany(values)] }
          : await context.transaction(async (tx) => {
              const updated = await tx(sql, values);
              // Only a won update emits; a lost one rolls nothing back because it wrote nothing.
              if (updated.rows[0] !== undefined) await appendOutgoing(context, tx, emitted);
              return updated;
            });
      if (rows[0] !== undefined) return toFlow(rows[0]);
      const actual = num((await byId(id))?.version);
      throw new IdrelayError(
        'ERR_STORE_CONFLICT',
        actual === undefined
          ? `Flow ${id} does not exist.`
          : `Flow ${id} is at version ${actual}, not ${expectedVersion}: another update came first.`,
        { details: { id, expectedVersion, actualVersion: actual } },
      );
    },
  };
}
