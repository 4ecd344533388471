import type {
  ActionTokenStore,
  ApplyResponseInput,
  ApplyResponseResult,
  ConsumeResult,
  ResponsePortsBase,
} from '@idrelay/core';
import { isIdrelayError, normaliseAuditEntry } from '@idrelay/core';
import { toRecord, toStored } from './action-tokens.js';
import { textArray } from './array-literal.js';
import { auditColumns, type createAuditStore, hashParts } from './audit.js';
import { coalesce } from './coalesce.js';
import type { PgContext, Query, Row } from './context.js';
import { num, prepared, str } from './context.js';
import { toDevice } from './devices.js';
import { toFlow } from './flows.js';
import { ANSWERS_INCOMPLETE } from './migrations/0007-answer-batch-function.js';
import { ONE_PLAN } from './outbox/claim.js';
import { appendOutgoing, dueAt } from './outgoing.js';

/** What the batched apply needs of the audit store beyond its port. */
export type ResponseAudit = Pick<ReturnType<typeof createAuditStore>, 'remember'>;

/** SQLSTATEs after which the whole batch is simply run again: deadlock, serialisation failure. */
const RETRYABLE = new Set(['40P01', '40001']);
/** Smallest pool on which answer lookups and batches each keep a connection while busy. */
const MIN_POOL_FOR_SESSIONS = 4;
/** Attempts of one batch in all; each follows a lost race or a deadlock. */
const MAX_ATTEMPTS = 20;

/**
 * `lookup` and `applyResponse` on PostgreSQL (decision 0043).
 *
 * `lookup` coalesces: the reads of every response waiting at that moment go in one call of the schema's
 * `lookup_answers` function (migration 8: token, device, the token's flow and the user's flow asked for, each by
 * key), one round trip for many responses.
 *
 * `applyResponse` coalesces too: the responses waiting at that moment go in one call of the schema's
 * `apply_answers` function (migration 7), one round trip and one commit, one call in flight at a time. It consumes
 * every token and moves the flows at their expected versions, revokes the other approvers' tokens, deletes the
 * timers, and chains the audit entries after the head it locks last (hashing them in the database exactly as
 * `hashAuditEntry` does, from each entry's canonical JSON split around its `seq`), so the calls of several processes
 * serialise only from the head to their commits, and a head another process moved costs nothing. Outgoing entries,
 * when there are any, are appended in the same transaction after the call. A response is therefore applied whole
 * or not at all, even across a crash, as on SQLite.
 *
 * When not every answer went through (a token already used, a flow moved on), the function undoes everything and
 * says what each answer did; the batch is sent again without the losers, an answer whose flow moved on keeping
 * just its token consumed, as the port says. A token or flow named twice in one batch waits for the next call, so
 * no row is updated twice in a statement and the second answer sees the first; in calls of two processes at once,
 * the second waits for the first's row lock and then sees its write.
 */
export function createResponsePorts(
  context: PgContext,
  ports: Pick<ResponsePortsBase, 'actionTokens'> & { audit: ResponseAudit },
): Pick<ActionTokenStore, 'lookup' | 'applyResponse'> {
  // Prepared once per connection: these run for every batch of answers.
  // `lookup_answers` (migration 8) runs the read with its generic plan: a batch is never planned anew.
  const lookupSql = prepared(`SELECT * FROM ${context.table('lookup_answers')}($1, $2, $3)`);
  const applySql = prepared(
    `SELECT * FROM ${context.table('apply_answers')}(${Array.from({ length: 19 }, (_, i) => `$${i + 1}`).join(', ')})`,
  );

  // Each kind keeps one connection while its calls keep coming: a batch goes out the moment the last is answered.
  // Not on a pool this small: two held connections could leave the rest of the store waiting behind them.
  const held =
    context.poolSize >= MIN_POOL_FOR_SESSIONS
      ? {
          session: <T>(use: (session: Query) => Promise<T>) => context.session(use),
          endsSession: (error: unknown) => isIdrelayError(error, 'ERR_STORE_UNAVAILABLE'),
        }
      : {
          session: <T>(use: (session: Query) => Promise<T>) => use(context.query),
          endsSession: () => false,
        };
  const lookupMany = coalesce<{ tokenHash: string; deviceId: string; userFlowKind: string | null }, Row, Query>(
    async (calls, query) => {
      const { rows } = await query(lookupSql, [
        calls.map((c) => c.tokenHash),
        calls.map((c) => c.deviceId),
        calls.map((c) => c.userFlowKind),
      ]);
      const byIndex = new Map(rows.map((row) => [Number(row.i), row]));
      return calls.map((_, i) => byIndex.get(i + 1) ?? {});
    },
    held,
  );

  /** What one response got from its batch: the consumed row (undefined: missed), and whether its flow moved. */
  interface Applied {
    won?: Row;
    moved: boolean;
  }
  /** An answer still in a batch; `conflict`: its token goes, its flow moved on (nothing else of it is written). */
  interface Going {
    input: ApplyResponseInput;
    index: number;
    conflict: boolean;
  }

  /** The 19 arguments of `apply_answers` for `live`, and the outgoing entries of the answers going through. */
  const argumentsOf = (live: readonly Going[]) => {
    const column = <T>(pick: (input: ApplyResponseInput, conflict: boolean) => T) =>
      live.map((a) => pick(a.input, a.conflict));
    const going = live.filter((a) => !a.conflict).map((a) => a.input);
    const revoking = going.filter((i) => i.revokeNotification !== undefined);
    const entries = going.flatMap((i) => i.audit ?? []).map(normaliseAuditEntry);
    const parts = entries.map(hashParts);
    const values = [
      column((i) => i.tokenHash),
      column((i) => i.at),
      column((i, conflict) => (conflict ? null : (i.flow?.id ?? null))),
      column((i) => i.flow?.patch.state ?? null),
      column((i) => (i.flow?.patch.data === undefined ? null : JSON.stringify(i.flow.patch.data))),
      column((i) => i.flow?.patch.transitions ?? null),
      column((i) => i.flow?.patch.updatedAt ?? i.at),
      column((i) => i.flow?.expectedVersion ?? 0),
      revoking.map((i) => i.revokeNotification!),
      revoking.map((i) => i.at),
      textArray(going.flatMap((i) => i.cancelTimers ?? [])),
      ...auditColumns(entries),
      parts.map(([before]) => before),
      parts.map(([, after]) => after),
    ];
    const emitted = going.flatMap((i) => dueAt(i.flow?.emit, i.flow!.patch.updatedAt));
    return { values, emitted };
  };

  /**
   * Applies `batch` (distinct tokens, distinct flows) through `apply_answers`: alone when nothing is emitted (the
   * call is its own transaction), else in a transaction with the outgoing entries (plans pinned as the function
   * pins its own, `ONE_PLAN`).
   */
  const applyBatch = async (batch: readonly ApplyResponseInput[], query: Query): Promise<Applied[]> => {
    const results: Applied[] = batch.map(() => ({ moved: false }));
    let live: Going[] = batch.map((input, index) => ({ input, index, conflict: false }));
    for (let attempt = 1; live.length > 0; attempt++) {
      const { values, emitted } = argumentsOf(live);
      try {
        const { rows } =
          emitted.length === 0
            ? await query(applySql, values)
            : await context.transactionOn(
                query,
                async (tx) => {
                  const called = await tx(applySql, values);
                  await appendOutgoing(context, tx, emitted);
                  return called;
                },
                ONE_PLAN,
              );
        const last = rows[0];
        if (last !== undefined) ports.audit.remember({ seq: num(last.head_seq)!, hash: str(last.head_hash)! });
        const won = new Map(rows.map((row) => [str((row.token as Row).token_hash)!, row.token as Row]));
        for (const a of live) {
          const row = won.get(a.input.tokenHash);
          if (row !== undefined) results[a.index] = { won: row, moved: !a.conflict && a.input.flow !== undefined };
        }
        return results;
      } catch (error) {
        const cause = (error as { cause?: { code?: unknown; detail?: unknown } }).cause;
        const code = cause?.code;
        if (attempt >= MAX_ATTEMPTS || typeof code !== 'string') throw error;
        if (code === ANSWERS_INCOMPLETE) {
          // What each answer did, in call order: a token not consumed drops out (its caller learns why from
          // consume); a flow that did not move keeps the token only.
          const outcome = JSON.parse(String(cause?.detail)) as [boolean, boolean][];
          live = live.flatMap((a, i) => {
            const [consumed, moved] = outcome[i] ?? [false, false];
            if (!consumed) return [];
            const lost = !a.conflict && a.input.flow !== undefined && !moved;
            return [lost ? { ...a, conflict: true } : a];
          });
        } else if (!RETRYABLE.has(code)) {
          throw error;
        }
      }
    }
    return results;
  };

  const applyMany = coalesce<ApplyResponseInput, Applied, Query>(async (inputs, query) => {
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
      const results = await applyBatch(
        now.map((item) => item.input),
        query,
      );
      now.forEach((item, i) => {
        out[item.index] = results[i]!;
      });
      pending = later;
    }
    return out;
  }, held);

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
