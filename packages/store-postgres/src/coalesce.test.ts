import { describe, expect, it } from 'vitest';
import { coalesce, coalesceReads } from './coalesce.js';

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

describe('coalesce with a session', () => {
  /** Sessions numbered from 1; `broken` makes a statement fail as a lost connection would. */
  function sessions(options: { failStart?: boolean } = {}) {
    const opened: number[] = [];
    const closed: number[] = [];
    let next = 0;
    const lost = new Error('connection lost');
    return {
      opened,
      closed,
      lost,
      options: {
        session: async <T>(use: (session: number) => Promise<T>): Promise<T> => {
          await Promise.resolve();
          if (options.failStart) throw new Error('no connection');
          const id = ++next;
          opened.push(id);
          try {
            return await use(id);
          } finally {
            closed.push(id);
          }
        },
        endsSession: (error: unknown) => error === lost,
      },
    };
  }

  it('serves the batches of one busy spell in one session, and closes it once the queue is empty', async () => {
    const s = sessions();
    const seen: [number, string[]][] = [];
    const run = coalesce<string, string, number>(async (inputs, session) => {
      seen.push([session, inputs]);
      await new Promise((resolve) => setImmediate(resolve));
      return inputs.map((i) => i.toUpperCase());
    }, s.options);
    const first = run('a');
    const rest = [run('b'), run('c')];
    expect(await Promise.all([first, ...rest])).toEqual(['A', 'B', 'C']);
    const later = run('d');
    await Promise.resolve();
    const more = run('e');
    expect(await Promise.all([later, more])).toEqual(['D', 'E']);
    // a, b, c arrived while the session opened: one batch. d and e: a new spell, a new session.
    expect(seen).toEqual([
      [1, ['a', 'b', 'c']],
      [2, ['d', 'e']],
    ]);
    expect(s.closed).toEqual([1, 2]);
  });

  it('fails the batch that lost its connection and serves the calls waiting behind it in a new session', async () => {
    const s = sessions();
    let calls = 0;
    const run = coalesce<string, string, number>(async (inputs, session) => {
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      if (calls === 1) throw s.lost;
      return inputs.map((i) => `${i}@${session}`);
    }, s.options);
    const first = run('a').catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = [run('b'), run('c')];
    expect(await first).toBe(s.lost);
    expect(await Promise.all(waiting)).toEqual(['b@2', 'c@2']);
    expect(s.closed).toEqual([1, 2]);
  });

  it('fails the calls waiting when no session can be opened, and tries again for the next', async () => {
    const s = sessions({ failStart: true });
    const run = coalesce<string, string, number>(async (inputs) => inputs, s.options);
    const results = await Promise.allSettled([run('a'), run('b')]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual([
      'no connection',
      'no connection',
    ]);
    await expect(run('c')).rejects.toThrow('no connection');
  });
});
