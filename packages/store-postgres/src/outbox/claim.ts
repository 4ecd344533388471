import type { ClaimOptions, Delivery } from '@idrelay/core';
import { textArray } from '../array-literal.js';
import type { PgContext } from '../context.js';
import { num } from '../context.js';
import { DELIVERY_COLUMNS, DEVICE_COLUMNS, toDeliveries } from './resolve.js';

/**
 * The priority levels of each platform with live deliveries, highest first: a loose index scan of
 * `deliveries_ready` (a handful of index probes per platform), so neither a claim nor `nextDueAt` reads every
 * live row. `platforms` is the SQL that lists the platforms; `$minPriority` bounds the levels from below.
 */
export function levels(deliveries: string, platforms: string, minPriority: string): string {
  const live = `ready_at IS NOT NULL AND priority >= ${minPriority}`;
  return `levels (platform, priority) AS (
      SELECT p.name, (SELECT max(priority) FROM ${deliveries} WHERE platform = p.name AND ${live}) FROM ${platforms} AS p
      UNION ALL
      SELECT l.platform, (SELECT max(priority) FROM ${deliveries} WHERE platform = l.platform AND ${live}
        AND priority < l.priority)
      FROM levels l WHERE l.priority IS NOT NULL)`;
}

/** Every platform with live deliveries, one index probe each (a loose index scan of `deliveries_ready`). */
export function livePlatforms(deliveries: string): string {
  return `platforms (name) AS (
      SELECT min(platform) FROM ${deliveries} WHERE ready_at IS NOT NULL
      UNION ALL
      SELECT (SELECT min(platform) FROM ${deliveries} WHERE ready_at IS NOT NULL AND platform > p.name)
      FROM platforms p WHERE p.name IS NOT NULL)`;
}

/**
 * Planner settings for the claim and settle statements, local to their transaction. Both have one good plan —
 * probe `deliveries_ready` per platform and priority, and reach deliveries and devices through their primary
 * keys — but right after a large enqueue, before autovacuum has analysed the table, the planner's row estimates
 * are far off and it scans the whole table instead: measured on 200,000 deliveries, a settle of 1,000 took
 * 140 ms on a sequential scan against ~20 ms through the primary key. `test/query-plans.test.ts` checks the plans.
 */
export const ONE_PLAN = `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;
  SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off`;

/**
 * The claim statement, for one schema. In one statement and one transaction: walk each platform's priority
 * levels from the top, take the due rows of each level in `ready_at` order with `FOR UPDATE SKIP LOCKED` (rows
 * another claimer holds are skipped, never waited for, so no two claims share a row), keep the first `$4` of them
 * in claim order, draw one fencing token, and mark them claimed — or cancelled, when their device was removed.
 * `RETURNING` gives each row with its device's current address and the `ready_at` it was claimed at (for order).
 *
 * `$1` platforms (NULL: every platform), `$2` now, `$3` lease end, `$4` limit, `$5` lowest priority.
 */
export function claimStatement(context: PgContext): string {
  const deliveries = context.table('deliveries');
  const devices = context.table('devices');
  const tokens = context.table('claim_tokens');
  const removed = 'v.removed_at IS NOT NULL';
  return `WITH RECURSIVE ${livePlatforms(deliveries)},
    asked (name) AS (SELECT name FROM unnest($1::text[]) AS a(name) UNION ALL
      SELECT name FROM platforms WHERE $1::text[] IS NULL AND name IS NOT NULL),
    ${levels(deliveries, 'asked', '$5::int')},
    chosen AS (
      SELECT c.id, c.priority, c.ready_at FROM levels l CROSS JOIN LATERAL (
        SELECT id, priority, ready_at FROM ${deliveries}
        WHERE platform = l.platform AND priority = l.priority AND ready_at IS NOT NULL AND ready_at <= $2
        ORDER BY ready_at LIMIT $4 FOR UPDATE SKIP LOCKED) AS c
      WHERE l.priority IS NOT NULL
      ORDER BY c.priority DESC, c.ready_at, c.id LIMIT $4),
    token AS MATERIALIZED (SELECT nextval('${tokens}') AS value)
  UPDATE ${deliveries} d SET
    status = CASE WHEN ${removed} THEN 'cancelled' ELSE 'claimed' END,
    ready_at = CASE WHEN ${removed} THEN NULL ELSE $3::bigint END,
    last_error_code = CASE WHEN ${removed} THEN 'ERR_DEVICE_REMOVED' ELSE d.last_error_code END,
    last_error_reason = CASE WHEN ${removed} THEN 'the device was unregistered' ELSE d.last_error_reason END,
    attempts = d.attempts + 1, claim_token = token.value, updated_at = $2
  FROM chosen, token, ${devices} v
  WHERE d.id = chosen.id AND v.id = d.device_ref
  RETURNING ${DELIVERY_COLUMNS}, ${DEVICE_COLUMNS}, chosen.ready_at AS claimed_at`;
}

/** The range of the `integer` priority column. */
const LOWEST = -2_147_483_648;
const HIGHEST = 2_147_483_647;

/** The outbox's claim: one statement in a pinned-plan transaction, then the claimed rows' messages. */
export function createClaim(context: PgContext) {
  const sql = claimStatement(context);
  return async ({ limit, now, leaseMs, platforms, minPriority }: ClaimOptions): Promise<Delivery[]> => {
    context.assertOpen();
    if (limit <= 0 || platforms?.length === 0) return [];
    const min = minPriority === undefined ? LOWEST : Math.min(HIGHEST, Math.max(LOWEST, Math.ceil(minPriority)));
    const values = [platforms === undefined ? null : textArray(platforms), now, now + leaseMs, Math.trunc(limit), min];
    const { rows } = await context.transaction((tx) => tx(sql, values), ONE_PLAN);
    const claimed = rows.filter((row) => row.status === 'claimed');
    // RETURNING promises no order: claim order is priority, then the time each row became ready, then id.
    claimed.sort(
      (a, b) =>
        num(b.priority)! - num(a.priority)! || num(a.claimed_at)! - num(b.claimed_at)! || num(a.id)! - num(b.id)!,
    );
    return toDeliveries(context, claimed);
  };
}
