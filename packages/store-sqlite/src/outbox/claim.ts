import type { ClaimOptions, Delivery } from '@idrelay/core';
import type { Row, SqliteContext } from '../driver.js';
import { int, text } from '../driver.js';
import { DELIVERY_STATUS } from '../status-codes.js';
import { type ClaimState, createResolver } from './resolve.js';

const { claimed: CLAIMED, cancelled: CANCELLED } = DELIVERY_STATUS;
const LOWEST = Number.MIN_SAFE_INTEGER;

/**
 * Rows per transaction of a claim. A claim of 1,000 in one go holds the event loop for ~6–9 ms (the UPDATE, the
 * device reads, a thousand objects); in slices of 500 each holds it for half that, and other work (a sign-in
 * verification) runs in between. The whole claim still carries one fencing token.
 */
export const CLAIM_SLICE = 500;

/** @internal The platforms that have live deliveries: one seek per platform in `deliveries_ready`. */
export const LIVE_PLATFORMS = `WITH RECURSIVE platforms (name) AS (
    SELECT (SELECT platform FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            ORDER BY platform LIMIT 1)
    UNION ALL
    SELECT (SELECT platform FROM deliveries INDEXED BY deliveries_ready WHERE ready_at IS NOT NULL
            AND platform > platforms.name ORDER BY platform LIMIT 1)
    FROM platforms WHERE platforms.name IS NOT NULL)
  SELECT name FROM platforms WHERE name IS NOT NULL`;

/** @internal The highest priority level of a platform with live deliveries, from `?2` up and below `?3`. */
export const NEXT_LEVEL = `SELECT priority FROM deliveries INDEXED BY deliveries_ready
  WHERE platform = ?1 AND priority >= ?2 AND priority < ?3 AND ready_at IS NOT NULL ORDER BY priority DESC LIMIT 1`;

/**
 * @internal Due rows of one platform and priority, in claim order: a range of `deliveries_ready` read from its
 * start, so it stops at the first row not yet due (a deferred backlog behind the due rows is never read) or at
 * `LIMIT`, and never sorts. Due rows are pending ones whose time came and claimed ones whose lease ran out.
 */
export const DUE_AT_LEVEL = `SELECT id, ready_at FROM deliveries INDEXED BY deliveries_ready
  WHERE platform = ? AND priority = ? AND ready_at <= ? ORDER BY ready_at, id LIMIT ?`;

interface Candidate {
  id: number;
  priority: number;
  readyAt: number;
}

/**
 * The claim: which rows, in order (priority DESC, then ready time, then id), walking each platform's priority
 * levels from the top so the express lane (`minPriority`) and a bulk backlog never make a claim read more than it
 * returns; then, slice by slice, a transaction that takes them under the claim's one fencing token and cancels
 * those whose device was removed.
 */
export function createClaim(context: SqliteContext) {
  const { statement } = context;

  const dueOf = (platform: string, minPriority: number, now: number, limit: number): Candidate[] => {
    const found: Candidate[] = [];
    let below = Number.MAX_SAFE_INTEGER;
    while (found.length < limit) {
      const level = statement(NEXT_LEVEL).get(platform, minPriority, below) as Row | undefined;
      if (level === undefined) break;
      const priority = int(level.priority)!;
      for (const row of statement(DUE_AT_LEVEL).all(platform, priority, now, limit - found.length) as Row[]) {
        found.push({ id: int(row.id)!, priority, readyAt: int(row.ready_at)! });
      }
      below = priority;
    }
    return found;
  };

  const candidates = ({ limit, now, platforms, minPriority }: ClaimOptions): Candidate[] => {
    const names = platforms ?? (statement(LIVE_PLATFORMS).all() as Row[]).map((row) => text(row.name)!);
    const min = minPriority === undefined ? LOWEST : Math.ceil(minPriority);
    if (names.length === 1) return dueOf(names[0]!, min, now, limit);
    return names
      .flatMap((platform) => dueOf(platform, min, now, limit))
      .sort((a, b) => b.priority - a.priority || a.readyAt - b.readyAt || a.id - b.id)
      .slice(0, limit);
  };

  /** One slice of a claim, in its own transaction: take the rows, read their devices, cancel those removed. */
  const take = (chosen: Candidate[], claimed: ClaimState, toDelivery: ReturnType<typeof createResolver>) => {
    const { rows, devices } = context.transaction(() => {
      const rows = statement(
        `UPDATE deliveries SET status = ${CLAIMED}, attempts = attempts + 1, claim_token = ?, ready_at = ?,
           updated_at = ? WHERE id IN (SELECT value FROM json_each(?))
         RETURNING id, notification_ref, message_ref, device_ref, platform, priority, due_at, expires_at, attempts,
           data, last_error, created_at`,
      ).all(claimed.claimToken, claimed.leaseUntil, claimed.now, JSON.stringify(chosen.map((c) => c.id))) as Row[];
      const devices = new Map<number, Row>();
      for (const device of statement(
        `SELECT id, device_id, user_id, platform, address, topic, environment, p256dh, auth, removed_at FROM devices
         WHERE id IN (SELECT value FROM json_each(?))`,
      ).all(JSON.stringify(rows.map((row) => row.device_ref))) as Row[]) {
        devices.set(int(device.id)!, device);
      }
      const gone = rows.filter((row) => devices.get(int(row.device_ref)!)?.removed_at !== null);
      if (gone.length > 0) {
        statement(
          `UPDATE deliveries SET status = ${CANCELLED}, ready_at = NULL,
             last_error = '{"code":"ERR_DEVICE_REMOVED","reason":"the device was unregistered"}'
           WHERE id IN (SELECT value FROM json_each(?))`,
        ).run(JSON.stringify(gone.map((row) => row.id)));
      }
      return { rows, devices };
    });
    // RETURNING promises no order: put each row back at its place in claim order instead of sorting.
    const position = new Map<number, number>();
    for (let i = 0; i < chosen.length; i++) position.set(chosen[i]!.id, i);
    const placed: (Delivery | undefined)[] = new Array(chosen.length);
    for (const row of rows) {
      const device = devices.get(row.device_ref as number);
      if (device?.removed_at === null) placed[position.get(row.id as number)!] = toDelivery(row, device, claimed);
    }
    return placed.filter((d) => d !== undefined);
  };

  return async (options: ClaimOptions): Promise<Delivery[]> => {
    if (options.limit <= 0 || options.platforms?.length === 0) return [];
    const toDelivery = createResolver(context);
    const out: Delivery[] = [];
    let claimed: ClaimState | undefined;
    for (let remaining = options.limit; remaining > 0; ) {
      const size = Math.min(remaining, CLAIM_SLICE);
      const chosen = candidates({ ...options, limit: size });
      if (chosen.length === 0) break;
      // One token for the whole claim, taken once there is something to claim (and before its transaction).
      claimed ??= { claimToken: context.nextClaimToken(), leaseUntil: options.now + options.leaseMs, now: options.now };
      out.push(...take(chosen, claimed, toDelivery));
      remaining -= chosen.length;
      if (chosen.length < size || remaining === 0) break;
      await context.turn();
    }
    return out;
  };
}
