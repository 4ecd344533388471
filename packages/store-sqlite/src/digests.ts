import type { DigestStore } from '@idrelay/core';
import type { Row, SqliteContext } from './driver.js';
import { int, text } from './driver.js';

/** {@link DigestStore} on the `digests` and `digest_items` tables; taking a window deletes it. */
export function createDigestStore(context: SqliteContext): DigestStore {
  const { statement, run, transaction } = context;
  return {
    add: ({ key, windowEndsAt, item }) =>
      run(() =>
        transaction(() => {
          const row = statement(
            `INSERT INTO digests (key, window_ends_at, count, opened_at) VALUES (?, ?, 1, ?)
             ON CONFLICT (key) DO UPDATE SET count = count + 1
             RETURNING window_ends_at, count`,
          ).get(key, windowEndsAt, context.now()) as Row;
          const count = int(row.count)!;
          statement('INSERT INTO digest_items (key, seq, item) VALUES (?, ?, ?)').run(key, count, JSON.stringify(item));
          return { opened: count === 1, count, windowEndsAt: int(row.window_ends_at)! };
        }),
      ),
    take: (key, sampleSize) =>
      run(() =>
        transaction(() => {
          const row = statement('DELETE FROM digests WHERE key = ? RETURNING count').get(key) as Row | undefined;
          if (row === undefined) return undefined;
          const items = (
            statement('SELECT item FROM digest_items WHERE key = ? ORDER BY seq LIMIT ?').all(
              key,
              Math.max(0, sampleSize),
            ) as Row[]
          ).map((item) => JSON.parse(text(item.item)!) as Record<string, unknown>);
          statement('DELETE FROM digest_items WHERE key = ?').run(key);
          return { count: int(row.count)!, items };
        }),
      ),
  };
}
