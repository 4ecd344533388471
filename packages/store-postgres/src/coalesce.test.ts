import { describe, expect, it } from 'vitest';
import { coalesceReads } from './coalesce.js';

/** A fake table whose reads are held until `release()`, recording the keys of each query. */
function table(rows: Record<string, number>) {
  const queries: string[][] = [];
  const held: (() => void)[] = [];
  const read = coalesceReads(
    (keys) => {
      queries.push(keys);
      const snapshot = new Map(keys.filter((k) => k in rows).map((k) => [k, { value: rows[k]! }]));
      return new Promise<Map<string, { value: number }>>((resolve) => held.push(() => resolve(snapshot)));
    },
    (row) => ({ ...row }),
  );
  const release = async () => {
    while (held.length > 0) {
      held.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { read, queries, release, rows };
}

describe('coalesceReads', () => {
  it('sends a lone read at once, and reads arriving meanwhile together in one query', async () => {
    const t = table({ a: 1, b: 2, c: 3 });
    const first = t.read('a');
    expect(t.queries).toEqual([['a']]);
    const rest = [t.read('b'), t.read('c'), t.read('missing'), t.read('b')];
    expect(t.queries).toHaveLength(1);
    await t.release();
    expect(await first).toEqual({ value: 1 });
    expect(await Promise.all(rest)).toEqual([{ value: 2 }, { value: 3 }, undefined, { value: 2 }]);
    expect(t.queries).toEqual([['a'], ['b', 'c', 'missing']]);
  });

  it('never joins a query already sent, so a read sees what was written before it was called', async () => {
    const t = table({ a: 1 });
    const before = t.read('a');
    t.rows.a = 2;
    const after = t.read('a');
    await t.release();
    expect(await before).toEqual({ value: 1 });
    expect(await after).toEqual({ value: 2 });
  });

  it('gives two callers of one key their own objects', async () => {
    const t = table({ a: 1 });
    void t.read('a');
    const [x, y] = [t.read('a'), t.read('a')];
    await t.release();
    expect(await x).not.toBe(await y);
  });

  it('fails every read of a failed query, and the next read goes ahead', async () => {
    let fail = true;
    const read = coalesceReads(async (keys) => {
      if (fail) throw new Error('down');
      return new Map(keys.map((k) => [k, k]));
    }, String);
    const failed = await Promise.allSettled([read('a'), read('b')]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await read('c')).toBe('c');
  });
});
