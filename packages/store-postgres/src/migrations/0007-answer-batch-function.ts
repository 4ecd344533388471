import type { Migration } from './migrate.js';

/** The SQLSTATE `apply_answers` raises when not every answer of its batch went through (detail: what did). */
export const ANSWERS_INCOMPLETE = 'IRA01';

/**
 * The two statements inside `apply_answers`, for the schema `s`, with their parameters numbered from `$1` and
 * `$<offset + 1>`: the function's own numbering with `offset` 8, standalone (`EXPLAIN`, tests) with 0.
 *
 * `consume` — `$1` token hashes, `$2` times, `$3` flow ids or null, `$4` states, `$5` data as JSON text, `$6`
 * transitions, `$7` update times, `$8` expected versions (null keeps a column): consumes every token and moves the
 * flows of the tokens won, and selects whether every answer went through, what each did (`[consumed, moved]`, in
 * call order) and the consumed rows as JSON.
 *
 * `settle` — `$1` notification ids and `$2` times to revoke the other unused tokens of, skipping tokens another
 * transaction holds (two devices of one user answering at once in two transactions each hold their own token and
 * both want the flow; waiting for the other's token would close a cycle PostgreSQL breaks only after
 * `deadlock_timeout`); `$3` timer ids to delete. Selects how many rows it changed.
 *
 * Frozen with this migration: a later change to them is a new migration replacing the function.
 */
export function answerStatements(s: string, offset = 0): { consume: string; settle: string } {
  const p = (n: number) => `$${n + offset}`;
  return {
    consume: `WITH u AS MATERIALIZED (
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[],
          $8::int[]) WITH ORDINALITY AS u(h, at, fid, state, data, transitions, updated, expected, i)),
      c AS (
        UPDATE ${s}.action_tokens t SET used_at = u.at FROM u
        WHERE t.token_hash = u.h AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > u.at
        RETURNING t.*),
      m AS (
        UPDATE ${s}.flows f SET state = coalesce(u.state, f.state), data = coalesce(u.data::json, f.data),
          transitions = coalesce(u.transitions, f.transitions), updated_at = u.updated, version = f.version + 1
        FROM u WHERE f.id = u.fid AND f.version = u.expected AND u.h IN (SELECT token_hash FROM c)
        RETURNING f.id)
      SELECT coalesce(bool_and(c.token_hash IS NOT NULL AND (u.fid IS NULL OR m.id IS NOT NULL)), true),
        coalesce(json_agg(json_build_array(c.token_hash IS NOT NULL, m.id IS NOT NULL) ORDER BY u.i), '[]'),
        array_agg(row_to_json(c) ORDER BY u.i) FILTER (WHERE c.token_hash IS NOT NULL)
      FROM u LEFT JOIN c ON c.token_hash = u.h LEFT JOIN m ON m.id = u.fid`,
    settle: `WITH r AS (
        UPDATE ${s}.action_tokens t SET revoked_at = v.at
        FROM (SELECT DISTINCT ON (id) id, at FROM unnest(${p(1)}::text[], ${p(2)}::bigint[]) AS v(id, at)) AS v
        WHERE t.notification_id = v.id AND t.token_hash IN (
          SELECT token_hash FROM ${s}.action_tokens WHERE notification_id = ANY(${p(1)}::text[])
            AND used_at IS NULL AND revoked_at IS NULL
          FOR UPDATE SKIP LOCKED)
        RETURNING 1),
      x AS (DELETE FROM ${s}.timers WHERE id = ANY(${p(3)}::text[]) RETURNING 1)
      SELECT (SELECT count(*) FROM r)::int + (SELECT count(*) FROM x)::int`,
  };
}

/**
 * `apply_answers(…)`: a batch of device answers in one call, so one round trip and, called on its own, one commit
 * (decision 0043). Its 19 parameters: the 8 of {@link answerStatements}' `consume`, the 3 of `settle`, then the
 * audit entries — `$12` at, `$13` action, `$14` actor, `$15` event_ref, `$16` target, `$17` details (JSON), and
 * `$18`/`$19` each entry's canonical JSON before and after its `seq` value (`hashParts` in src/audit.ts).
 *
 * It consumes the tokens and moves the flows; unless every answer went through it raises
 * {@link ANSWERS_INCOMPLETE} with what each did as the error's detail (a JSON array of `[consumed, moved]`), undoing
 * everything. Then it revokes the siblings and deletes the timers, and last it locks the audit head, chains the
 * entries after it — each hash is SHA-256 of the previous hash, a newline and the entry's canonical JSON, exactly
 * as `hashAuditEntry` in @idrelay/core computes it — inserts them and moves the head. The head is held only from
 * there to the commit, so batches in flight at once overlap in everything but that, and no batch is ever chained
 * after a head that moved. It returns the consumed token rows as JSON, in call order, each with the new head.
 *
 * The function pins the plans of its statements as the outbox's `ONE_PLAN` does (`SET` clauses, in force while it
 * runs): their liveness filters (`used_at IS NULL AND revoked_at IS NULL`) are rated anywhere from every row to
 * almost none by the statistics, and rated near none a whole-table scan looks cheaper than the key probes.
 * The database's encoding must be UTF8 (the hashes are over UTF-8 text, as in JavaScript).
 */
export const answerBatchFunction: Migration = {
  version: 7,
  name: 'answer-batch-function',
  sql: (s) => {
    const { consume, settle } = answerStatements(s, 8);
    return `
    CREATE FUNCTION ${s}.apply_answers(text[], bigint[], text[], text[], text[], int[], bigint[], int[],
        text[], bigint[], text[], bigint[], text[], text[], text[], text[], json[], text[], text[])
      RETURNS TABLE (token json, head_seq bigint, head_hash text)
      LANGUAGE plpgsql
      SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    AS $fn$
    DECLARE
      complete boolean;
      outcome json;
      won json[];
      changed int;
      entries int := coalesce(cardinality($12), 0);
      seqs bigint[];
      prevs text[];
      hashes text[];
      last_seq bigint;
      last_hash text;
    BEGIN
      ${consume}
      INTO complete, outcome, won;
      IF NOT complete THEN
        RAISE EXCEPTION 'not every answer of the batch went through'
          USING ERRCODE = '${ANSWERS_INCOMPLETE}', DETAIL = outcome::text;
      END IF;
      ${settle}
      INTO changed;
      IF entries = 0 THEN
        SELECT h.seq, h.hash INTO last_seq, last_hash FROM ${s}.audit_head h WHERE h.id = 1;
      ELSE
        SELECT h.seq, h.hash INTO last_seq, last_hash FROM ${s}.audit_head h WHERE h.id = 1 FOR UPDATE;
        FOR k IN 1 .. entries LOOP
          last_seq := last_seq + 1;
          seqs[k] := last_seq;
          prevs[k] := last_hash;
          last_hash := encode(sha256(convert_to(last_hash || E'\n' || $18[k] || last_seq::text || $19[k], 'UTF8')),
            'hex');
          hashes[k] := last_hash;
        END LOOP;
        INSERT INTO ${s}.audit (seq, at, action, actor, event_ref, target, details, prev_hash, hash)
          SELECT * FROM unnest(seqs, $12, $13, $14, $15, $16, $17, prevs, hashes);
        UPDATE ${s}.audit_head SET seq = last_seq, hash = last_hash WHERE id = 1;
      END IF;
      RETURN QUERY SELECT w, last_seq, last_hash FROM unnest(won) AS w;
    END
    $fn$;
  `;
  },
};
