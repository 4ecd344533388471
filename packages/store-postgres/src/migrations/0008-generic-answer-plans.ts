import type { Migration } from './migrate.js';

/** The argument types of `apply_answers` (migration 7), to name the function in DDL. */
const APPLY_ANSWERS_ARGUMENTS =
  'text[], bigint[], text[], text[], text[], int[], bigint[], int[], text[], bigint[], text[], bigint[], text[], text[], text[], text[], json[], text[], text[]';

/**
 * The read of a batch of answers (`ActionTokenStore.lookup`), for the schema `s`: `$1` token hashes, `$2` device ids,
 * `$3` user-flow kinds or null. Each token, the live device named, the token's flow and the flow of that kind keyed by
 * the token's user, one row per call in call order (`i`). Each table is reached through a `LATERAL … LIMIT 1` probe: a
 * loop of primary-key (or unique-key) lookups whatever the statistics say. As a plain join, right after a burst of
 * enrolments (tables not yet analysed, so `removed_at IS NULL` looks like 0.5% of the rows) the planner hashed all
 * 10,000 devices per batch: 3-4 ms a statement instead of 0.2.
 *
 * Frozen with this migration as the body of `lookup_answers`: a later change is a new migration replacing it.
 */
export const answerLookupStatement = (s: string) =>
  `SELECT u.i, row_to_json(t) AS token, row_to_json(d) AS device, row_to_json(f) AS flow,
         row_to_json(k) AS user_flow
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(token_hash, device_id, user_flow_kind, i)
       LEFT JOIN LATERAL (SELECT * FROM ${s}.action_tokens WHERE token_hash = u.token_hash LIMIT 1) t ON true
       LEFT JOIN LATERAL (SELECT * FROM ${s}.devices WHERE device_id = u.device_id AND removed_at IS NULL LIMIT 1) d
         ON true
       LEFT JOIN LATERAL (SELECT * FROM ${s}.flows WHERE id = t.flow_id LIMIT 1) f ON true
       LEFT JOIN LATERAL (SELECT * FROM ${s}.flows WHERE kind = u.user_flow_kind AND key = t.user_id LIMIT 1) k ON true`;

/**
 * The two statements of a batch of device answers always run with their generic plans.
 *
 * Both take arrays, one element per answer. For a prepared statement PostgreSQL plans the first five executions with
 * the values (custom plans) and then keeps planning each execution anew for as long as those plans look cheaper than
 * the generic one, which they do for some batch sizes: the planner sees the array's length in a custom plan and
 * assumes 10 rows in the generic one. Measured alone on this schema (server time of `apply_answers`, from the
 * statement log), a batch of 4 answers took 1.21 ms planned each time and 0.39 ms with the generic plan, a batch of
 * one 0.60 ms and 0.24 ms; the answer lookup spent 0.30 ms planning a batch of 4 that it then ran in 0.11 ms. The
 * generic plans are the key probes test/query-plans.test.ts pins.
 *
 * - `apply_answers` gets `SET plan_cache_mode = force_generic_plan` beside its other plan settings.
 * - `lookup_answers($1, $2, $3)` runs {@link answerLookupStatement} under the same setting (a function is the only
 *   place a setting can be scoped to one statement). The store used to send that statement itself.
 */
export const genericAnswerPlans: Migration = {
  version: 8,
  name: 'generic-answer-plans',
  sql: (s) => `
    ALTER FUNCTION ${s}.apply_answers(${APPLY_ANSWERS_ARGUMENTS}) SET plan_cache_mode = force_generic_plan;
    CREATE FUNCTION ${s}.lookup_answers(text[], text[], text[])
      RETURNS TABLE (i bigint, token json, device json, flow json, user_flow json)
      LANGUAGE plpgsql STABLE
      SET plan_cache_mode = force_generic_plan
    AS $fn$
    #variable_conflict use_column
    BEGIN
      RETURN QUERY ${answerLookupStatement(s)};
    END
    $fn$;
  `,
};
