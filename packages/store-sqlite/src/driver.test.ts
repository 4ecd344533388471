import { IdrelayError, isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { createClaimTokens, createContext, loadSqlite, wrapDriverError } from './driver.js';

describe('loading node:sqlite', () => {
  it("drops Node's SQLite experimental warning while loading, then restores process.emitWarning untouched", () => {
    const seen: unknown[][] = [];
    const original = process.emitWarning;
    const spy = ((...args: unknown[]) => {
      seen.push(args);
    }) as typeof process.emitWarning;
    process.emitWarning = spy;
    try {
      expect(typeof loadSqlite().DatabaseSync).toBe('function');
      // What Node emits while the module loads; the filter must be gone afterwards.
      expect(process.emitWarning).toBe(spy);
      process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
      process.emitWarning('something else', 'ExperimentalWarning');
    } finally {
      process.emitWarning = original;
    }
    expect(seen.map((args) => args[0])).toEqual([
      'SQLite is an experimental feature and might change at any time',
      'something else',
    ]);
  });
});

describe('driver errors at the package boundary', () => {
  const open = () => {
    const { DatabaseSync } = loadSqlite();
    return createContext(new DatabaseSync(':memory:'), () => 0, 'sqlite:test');
  };

  it('wraps a failed statement as ERR_STORE_QUERY with the driver error as cause', async () => {
    const context = open();
    context.db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    await context.run(() => context.statement('INSERT INTO t VALUES (?)').run('a'));
    const error = await context.run(() => context.statement('INSERT INTO t VALUES (?)').run('a')).catch((e) => e);
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    expect((error as Error).message).toContain('UNIQUE constraint failed');
    expect((error as Error).cause).toBeInstanceOf(Error);
    context.close();
  });

  it('reports a lock held elsewhere as ERR_STORE_LOCKED, and lets our own errors through', () => {
    const busy = Object.assign(new Error('database is locked'), { errcode: 5 });
    expect(isIdrelayError(wrapDriverError(busy, 'sqlite:x'), 'ERR_STORE_LOCKED')).toBe(true);
    const ours = new IdrelayError('ERR_STORE_CONFLICT', 'stale');
    expect(wrapDriverError(ours, 'sqlite:x')).toBe(ours);
  });

  it('rolls a transaction back when its work throws, and commits it otherwise', () => {
    const context = open();
    context.db.exec('CREATE TABLE t (k TEXT)');
    expect(() =>
      context.transaction(() => {
        context.statement('INSERT INTO t VALUES (?)').run('lost');
        throw new Error('half way');
      }),
    ).toThrow('half way');
    context.transaction(() => context.transaction(() => context.statement('INSERT INTO t VALUES (?)').run('kept')));
    expect(context.db.prepare('SELECT k FROM t').all()).toEqual([{ k: 'kept' }]);
    context.close();
  });
});

describe('long writes in slices', () => {
  const open = () => {
    const { DatabaseSync } = loadSqlite();
    const context = createContext(new DatabaseSync(':memory:'), () => 0, 'sqlite:test');
    context.db.exec('CREATE TABLE t (n INTEGER)');
    return context;
  };
  const insert = (context: ReturnType<typeof open>) => (slice: readonly number[]) => {
    for (const n of slice) context.statement('INSERT INTO t VALUES (?)').run(n);
    return slice.length;
  };

  it('commits each slice on its own and lets other work run between slices', async () => {
    const context = open();
    const seen: number[] = [];
    const watcher = (async () => {
      // Runs while the write is between slices: it sees whole slices only, never a part of one.
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push((context.db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n);
      }
    })();
    const items = Array.from({ length: 25 }, (_, n) => n);
    expect(await context.runSliced(items, 10, insert(context))).toBe(25);
    await watcher;
    expect(seen.length).toBe(3);
    for (const n of seen) expect([10, 20, 25]).toContain(n);
    context.close();
  });

  it('stops with ERR_STORE_CLOSED when the store is closed between slices', async () => {
    const context = open();
    const writing = context.runSliced(
      Array.from({ length: 30 }, (_, n) => n),
      10,
      insert(context),
    );
    // The first slice ran at once; the store closes while the write waits for its next turn.
    context.close();
    await expect(writing).rejects.toSatisfy((error) => isIdrelayError(error, 'ERR_STORE_CLOSED'));
  });
});

describe('claim tokens', () => {
  it('increase for the life of the file, across reopening, with one write per block of tokens', () => {
    const { DatabaseSync } = loadSqlite();
    const db = new DatabaseSync(':memory:');
    db.exec(
      "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL); INSERT INTO counters VALUES ('claim_token', 0)",
    );
    const context = createContext(db, () => 0, 'sqlite:test');
    const first = createClaimTokens(context);
    const a = Array.from({ length: 2_000 }, () => first.next());
    expect(a[0]).toBe(1);
    expect(new Set(a).size).toBe(a.length);
    expect(a.every((token, i) => i === 0 || token > a[i - 1]!)).toBe(true);
    // A restarted process reads the stored high-water mark and starts above every token handed out before.
    const second = createClaimTokens(context);
    expect(second.next()).toBeGreaterThan(a.at(-1)!);
    context.close();
  });
});

describe('group commit', () => {
  const open = () => {
    const { DatabaseSync } = loadSqlite();
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY)');
    return createContext(db, () => 0, 'sqlite:group', { groupCommit: true });
  };
  const insert = (context: ReturnType<typeof open>, k: string) =>
    context.run(() => context.statement('INSERT INTO t VALUES (?)').run(k));

  it('answers the writers of one turn after their shared COMMIT, and a read at once', async () => {
    const context = open();
    const settled: string[] = [];
    const writes = ['a', 'b', 'c'].map((k) => insert(context, k).then(() => settled.push(k)));
    // Still inside the group's transaction: nothing is reported written yet.
    expect(context.db.isTransaction).toBe(true);
    const read = await context.run(() => context.statement('SELECT count(*) AS n FROM t').get());
    expect(read).toEqual({ n: 3 });
    expect(settled).toEqual([]);
    await Promise.all(writes);
    expect(settled).toEqual(['a', 'b', 'c']);
    expect(context.db.isTransaction).toBe(false);
  });

  it('reads inside the open group without a savepoint, resolving at once; a failed read is wrapped, the group lives on', async () => {
    const context = open();
    const write = insert(context, 'a');
    // The write of this turn is not committed yet, and a read sees it, answered before the COMMIT.
    let committed = false;
    void write.then(() => {
      committed = true;
    });
    expect(await context.read(() => context.statement('SELECT count(*) AS n FROM t').get())).toEqual({ n: 1 });
    expect(committed).toBe(false);
    const error = await context.read(() => context.statement('SELECT * FROM missing').get()).catch((e) => e);
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    await write;
    expect(context.db.prepare('SELECT k FROM t').all()).toEqual([{ k: 'a' }]);
    // A read alone opens the turn's group (the writes of that turn would join it) and leaves nothing open after.
    await context.read(() => context.statement('SELECT 1').get());
    expect(context.db.isTransaction).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(context.db.isTransaction).toBe(false);
    context.close();
    expect(isIdrelayError(await context.read(() => 1).catch((e) => e), 'ERR_STORE_CLOSED')).toBe(true);
  });

  it('rolls back only the call that failed; the others of its group commit', async () => {
    const context = open();
    const results = await Promise.allSettled([insert(context, 'x'), insert(context, 'x'), insert(context, 'y')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(isIdrelayError((results[1] as PromiseRejectedResult).reason, 'ERR_STORE_QUERY')).toBe(true);
    expect(context.db.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([{ k: 'x' }, { k: 'y' }]);
  });

  it('commits an open group before a transaction of its own and on close', async () => {
    const context = open();
    const pending = insert(context, 'p');
    context.transaction(() => context.statement('INSERT INTO t VALUES (?)').run('q'));
    await pending;
    const last = insert(context, 'r');
    context.close();
    await last;
  });
});
