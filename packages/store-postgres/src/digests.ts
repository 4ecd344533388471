import type { DigestStore } from '@idrelay/core';
import type { PgContext } from './context.js';
import { num } from './context.js';

/** {@link DigestStore} on the `digests` and `digest_items` tables; taking a window deletes it. */
export function createDigestStore(context: PgContext): DigestStore {
  const digests = context.table('digests');
  const items = context.table('digest_items');
  return {
    add: ({ key, windowEndsAt, item }) =>
      // The upsert locks the window's row until commit, so concurrent adds number their items 1, 2, 3 … and a
      // concurrent take sees either all of an add or none of it.
      context.transaction(async (tx) => {
        const { rows } = await tx(
          `INSERT INTO ${digests} (key, window_ends_at, count, opened_at) VALUES ($1, $2, 1, $3)
           ON CONFLICT (key) DO UPDATE SET count = ${digests}.count + 1
           RETURNING window_ends_at, count`,
          [key, windowEndsAt, context.now()],
        );
        const count = num(rows[0]?.count)!;
        await tx(`INSERT INTO ${items} (key, seq, item) VALUES ($1, $2, $3)`, [key, count, JSON.stringify(item)]);
        return { opened: count === 1, count, windowEndsAt: num(rows[0]?.window_ends_at)! };
      }),
    take: (key, sampleSize) =>
      context.transaction(async (tx) => {
        const closed = await tx(`DELETE FROM ${digests} WHERE key = $1 RETURNING count`, [key]);
        if (closed.rows[0] === undefined) return undefined;
        const sample = await tx(`SELECT item FROM ${items} WHERE key = $1 ORDER BY seq LIMIT $2`, [
          key,
          Math.max(0, Math.trunc(sampleSize)),
        ]);
        await tx(`DELETE FROM ${items} WHERE key = $1`, [key]);
        return {
          count: num(closed.rows[0].count)!,
          items: sample.rows.map((row) => row.item as Record<string, unknown>),
        };
      }),
  };
}
