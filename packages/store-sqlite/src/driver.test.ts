import { IdrelayError, isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { createContext, loadSqlite, wrapDriverError } from './driver.js';

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
