import type { EmitOptions, FlowPatch, FlowRecord, FlowStore } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';
import { appendOutgoing } from './outgoing.js';

export const toFlow = (row: Row): FlowRecord => ({
  id: text(row.id)!,
  kind: text(row.kind)!,
  definitionVersion: int(row.definition_version)!,
  key: text(row.key)!,
  state: text(row.state)!,
  data: JSON.parse(text(row.data)!) as Record<string, unknown>,
  transitions: int(row.transitions)!,
  version: int(row.version)!,
  createdAt: int(row.created_at)!,
  updatedAt: int(row.updated_at)!,
});

const MOVE = `UPDATE flows SET state = coalesce(?, state), data = coalesce(?, data),
       transitions = coalesce(?, transitions), updated_at = ?, version = version + 1
     WHERE id = ? AND version = ?`;

const moveValues = (id: string, expectedVersion: number, patch: FlowPatch) =>
  [
    patch.state ?? null,
    patch.data === undefined ? null : JSON.stringify(patch.data),
    patch.transitions ?? null,
    patch.updatedAt,
    id,
    expectedVersion,
  ] as const;

/**
 * Moves flow `id` from `expectedVersion` (inside the caller's transaction) and appends its `emit` entries; the
 * updated row, or `undefined` when the version moved on (nothing written).
 */
export function moveFlow(
  context: SqliteContext,
  id: string,
  expectedVersion: number,
  patch: FlowPatch,
  emit: EmitOptions['emit'],
): Row | undefined {
  const row = context.statement(`${MOVE} RETURNING *`).get(...moveValues(id, expectedVersion, patch)) as
    | Row
    | undefined;
  if (row !== undefined) appendOutgoing(context, emit, patch.updatedAt);
  return row;
}

/** {@link moveFlow} for a caller that needs only whether it moved (no row read back). */
export function tryMoveFlow(
  context: SqliteContext,
  id: string,
  expectedVersion: number,
  patch: FlowPatch,
  emit: EmitOptions['emit'],
): boolean {
  const moved = context.statement(MOVE).run(...moveValues(id, expectedVersion, patch)).changes === 1;
  if (moved) appendOutgoing(context, emit, patch.updatedAt);
  return moved;
}

/**
 * {@link FlowStore} on the `flows` table; `version` starts at 1 and grows by one per update, and an update's `emit`
 * entries join its transaction.
 */
export function createFlowStore(context: SqliteContext): FlowStore {
  const { statement, run, read, transaction } = context;
  const byId = (id: string) => statement('SELECT * FROM flows WHERE id = ?').get(id) as Row | undefined;
  const byKey = (kind: string, key: string) =>
    statement('SELECT * FROM flows WHERE kind = ? AND key = ?').get(kind, key) as Row | undefined;

  return {
    create: (flow) =>
      run(() =>
        transaction(() => {
          const inserted = statement(
            `INSERT INTO flows (id, kind, key, definition_version, state, data, transitions, version, created_at,
               updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
             ON CONFLICT DO NOTHING RETURNING *`,
          ).get(
            flow.id,
            flow.kind,
            flow.key,
            flow.definitionVersion,
            flow.state,
            JSON.stringify(flow.data),
            flow.transitions,
            flow.createdAt,
            flow.updatedAt,
          ) as Row | undefined;
          if (inserted !== undefined) return { created: true, flow: toFlow(inserted) };
          const existing = byKey(flow.kind, flow.key);
          if (existing !== undefined) return { created: false, flow: toFlow(existing) };
          throw new IdrelayError(
            'ERR_STORE_CONFLICT',
            `A flow with id ${flow.id} already exists for another kind or key.`,
            { details: { id: flow.id, kind: flow.kind, key: flow.key } },
          );
        }),
      ),
    get: (id) =>
      read(() => {
        const row = byId(id);
        return row === undefined ? undefined : toFlow(row);
      }),
    findByKey: (kind, key) =>
      read(() => {
        const row = byKey(kind, key);
        return row === undefined ? undefined : toFlow(row);
      }),
    update: (id, expectedVersion, patch, options = {}) =>
      run(() =>
        transaction(() => {
          const row = moveFlow(context, id, expectedVersion, patch, options.emit);
          if (row !== undefined) return toFlow(row);
          const actual = int(byId(id)?.version);
          throw new IdrelayError(
            'ERR_STORE_CONFLICT',
            actual === undefined
              ? `Flow ${id} does not exist.`
              : `Flow ${id} is at version ${actual}, not ${expectedVersion}: another update came first.`,
            { details: { id, expectedVersion, actualVersion: actual } },
          );
        }),
      ),
  };
}
