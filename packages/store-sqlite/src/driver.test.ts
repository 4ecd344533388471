import { describe, expect, it } from 'vitest';
import { loadSqlite } from './driver.js';

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
