import { describe, expect, it } from 'vitest';
import { createContext, loadSqlite } from './driver.js';
import { migrate } from './migrations/migrate.js';
import { claimSql, NEXT_READY } from './outbox.js';

/**
 * The outbox's speed rests on a few query plans: a claim must walk an index already in claim order (a sort
 * would read every due row per batch), and the wake-up time must not read every live row. These pin the plans.
 */
function plan(sql: string, ...params: (number | string)[]): string {
  const { DatabaseSync } = loadSqlite();
  const context = createContext(new DatabaseSync(':memory:'), () => 0, 'plans');
  try {
    migrate(context, 'plans');
    const rows = context.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
    return rows.map((row) => row.detail).join('\n');
  } finally {
    context.close();
  }
}

describe('outbox query plans', () => {
  it('claims by walking the ready index in order, without a sort', () => {
    for (const detail of [plan(claimSql(false), 1, 1, 1, 10), plan(claimSql(true), 1, 1, 1, '["fcm"]', 10)]) {
      expect(detail).toContain('deliveries_ready');
      expect(detail).not.toContain('TEMP B-TREE');
    }
  });

  it('finds the next wake-up time by seeking into each priority level', () => {
    const detail = plan(NEXT_READY);
    expect(detail).toContain('SEARCH deliveries USING COVERING INDEX deliveries_ready (priority<?)');
    expect(detail).toContain('SEARCH deliveries USING COVERING INDEX deliveries_ready (priority=? AND ready_at>?)');
    expect(detail).not.toContain('TEMP B-TREE');
  });
});
