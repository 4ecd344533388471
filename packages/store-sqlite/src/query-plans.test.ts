import { afterAll, describe, expect, it } from 'vitest';
import { attributesQuery, groupsQuery, MERGED_VALUES } from './directory/audience-query.js';
import { CHILD_EDGES, PARENT_EDGES } from './directory/groups.js';
import { REPORTS_OF, USERS_BY_ID } from './directory/users.js';
import { createContext, loadSqlite, type SqlValue } from './driver.js';
import { migrate } from './migrations/migrate.js';
import { DUE_AT_LEVEL, LIVE_PLATFORMS, NEXT_LEVEL } from './outbox/claim.js';
import { INSERT_DELIVERIES } from './outbox/enqueue.js';
import { NEXT_READY } from './outbox/outbox.js';
import { CLAIM_OUTGOING, HEAD_OF_KEY, NEXT_OUTGOING } from './outgoing.js';
import { PRUNE } from './retention.js';
import { CLAIM_TIMERS } from './timers.js';

/**
 * The store's speed rests on a few query plans: a claim must read an index already in claim order and stop when it
 * has enough (a sort would read every due row per batch); wake-up times must not read every live row; retention
 * and outgoing claims must walk an index of exactly the candidate rows, never a whole table. These pin the plans.
 */
const { DatabaseSync } = loadSqlite();
const context = createContext(new DatabaseSync(':memory:'), () => 0, 'plans');
migrate(context, 'plans');
afterAll(() => context.close());

function plan(sql: string, ...params: SqlValue[]): string {
  const rows = context.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
  return rows.map((row) => row.detail).join('\n');
}

/** A plan that reads no table or index whole and sorts nothing. */
function expectNoScanOrSort(detail: string): void {
  expect(detail).not.toContain('TEMP B-TREE');
  // `SCAN x USING … INDEX` appears only where the statement stops after one row (ORDER BY … LIMIT 1).
  for (const line of detail.split('\n').filter((l) => /^SCAN (deliveries|outgoing|devices|messages)\b/.test(l))) {
    expect(line).toMatch(/USING COVERING INDEX (deliveries_ready|outgoing_ready)$/);
  }
  expect(detail).not.toMatch(/^SCAN (deliveries|outgoing|devices|messages|notifications|events|timers)$/m);
}

describe('outbox query plans', () => {
  it('claims by seeking one range of the ready index per priority level, in claim order, without a sort', () => {
    const detail = plan(DUE_AT_LEVEL, 'fcm', 0, 1, 10);
    expect(detail).toBe(
      'SEARCH deliveries USING COVERING INDEX deliveries_ready (platform=? AND priority=? AND ready_at<?)',
    );
    expect(plan(NEXT_LEVEL, 'fcm', 0, 100)).toBe(
      'SEARCH deliveries USING COVERING INDEX deliveries_ready (platform=? AND priority>? AND priority<?)',
    );
    expectNoScanOrSort(plan(LIVE_PLATFORMS));
  });

  it('finds the next wake-up time by seeking into each platform and priority level', () => {
    const detail = plan(NEXT_READY);
    expect(detail).toContain('SEARCH deliveries USING COVERING INDEX deliveries_ready (platform=? AND priority<?)');
    expect(detail).toContain(
      'SEARCH deliveries USING COVERING INDEX deliveries_ready (platform=? AND priority=? AND ready_at>?)',
    );
    expectNoScanOrSort(detail);
  });

  it('enqueues by walking the JSON batch and looking each device up by its id', () => {
    const detail = plan(INSERT_DELIVERIES, 1, '[]');
    expect(detail).toMatch(/^SCAN j VIRTUAL TABLE/);
    expect(detail).toContain('SEARCH v USING INDEX sqlite_autoindex_devices_1 (device_id=?)');
  });
});

describe('outgoing and timer query plans', () => {
  it('claims outgoing entries from the heads index only, in order, without a sort', () => {
    expect(plan(CLAIM_OUTGOING, 'c', 1, 10)).toBe(
      'SEARCH outgoing USING COVERING INDEX outgoing_ready (consumer=? AND ready_at<?)',
    );
    expect(plan(HEAD_OF_KEY, 'c', 'k')).toBe('SEARCH outgoing USING INDEX outgoing_live (consumer=? AND order_key=?)');
    const next = plan(NEXT_OUTGOING);
    expect(next).toContain('SEARCH outgoing USING COVERING INDEX outgoing_ready (consumer=? AND ready_at>?)');
    expectNoScanOrSort(next);
  });

  it('claims timers from the ready index', () => {
    expect(plan(CLAIM_TIMERS, 1, 10)).toBe('SEARCH timers USING COVERING INDEX timers_ready (ready_at<?)');
  });
});

describe('retention query plans', () => {
  const expected: Record<keyof typeof PRUNE, string[]> = {
    deliveries: ['SEARCH deliveries USING INDEX deliveries_finished (updated_at<?)'],
    messages: [
      'SEARCH m USING INDEX messages_created (created_at<?)',
      'SEARCH d USING INDEX deliveries_notification (notification_ref=?)',
    ],
    notifications: [
      'SEARCH n USING COVERING INDEX notifications_created (created_at<?)',
      'SEARCH d USING COVERING INDEX deliveries_notification (notification_ref=?)',
    ],
    rejectedEvents: ['SEARCH rejected_events USING COVERING INDEX rejected_events_received (received_at<?)'],
    events: ['SEARCH events USING COVERING INDEX events_planned (received_at<?)'],
    actionTokens: ['SEARCH action_tokens USING COVERING INDEX action_tokens_finished (<expr><?)'],
    outgoing: ['SEARCH outgoing USING COVERING INDEX outgoing_finished (status=? AND updated_at<?)'],
    devices: [
      'SEARCH v USING COVERING INDEX devices_removed (removed_at>? AND removed_at<?)',
      'SEARCH d USING COVERING INDEX deliveries_pair (device_ref=?)',
    ],
  };

  for (const [kind, lines] of Object.entries(expected)) {
    it(`prunes ${kind} from an index of candidates, in bounded batches`, () => {
      const sql = PRUNE[kind as keyof typeof PRUNE];
      const detail = kind === 'outgoing' ? plan(sql, 2, 1, 10) : plan(sql, 1, 10);
      for (const line of lines) expect(detail).toContain(line);
      expect(sql).toMatch(/LIMIT \?/);
      expectNoScanOrSort(detail);
    });
  }
});

describe('directory query plans', () => {
  /** A plan that never reads `users` or an index of it whole: every access to it is a seek. */
  const expectNoUserScan = (detail: string) => {
    expect(detail).not.toMatch(/^SCAN (u|x|users|user_attributes|a|b|group_members)\b/m);
    expect(detail).toContain('SEARCH u USING PRIMARY KEY (id=?)');
  };

  it('drives a filter by its key with the fewest values, checking the other keys by seeking', () => {
    const { sql, params } = attributesQuery(
      [
        ['department', ['finance', 'it', 'legal']],
        ['location', ['zurich']],
      ],
      'u-1',
      500,
    );
    const detail = plan(sql, ...params);
    expect(detail).toContain('SEARCH a USING PRIMARY KEY (name=? AND value=? AND user_id>?)');
    expect(detail).toContain(
      'SEARCH b EXISTS USING COVERING INDEX user_attributes_user (user_id=? AND name=? AND value=?)',
    );
    // Only active users have attribute rows: nothing reads `users` before the page is chosen.
    expect(detail).not.toContain('SEARCH x');
    expect(detail).not.toContain('TEMP B-TREE');
    expectNoUserScan(detail);
  });

  it('merges the index ranges of several values in user-id order instead of sorting a page', () => {
    const { sql, params } = attributesQuery(
      [
        ['role', ['approver', 'auditor']],
        ['location', ['zurich', 'berlin', 'paris']],
      ],
      'u-1',
      500,
    );
    const detail = plan(sql, ...params);
    expect(detail).toContain('MERGE (UNION)');
    expect(detail.match(/SEARCH a USING PRIMARY KEY \(name=\? AND value=\? AND user_id>\?\)/g)).toHaveLength(2);
    expect(detail).not.toContain('TEMP B-TREE');
    expectNoUserScan(detail);
  });

  it(`reads more than ${MERGED_VALUES} values through the index too, sorting only what matches`, () => {
    const values = Array.from({ length: MERGED_VALUES + 1 }, (_, i) => `v-${i}`);
    const { sql, params } = attributesQuery([['costCenter', values]], undefined, 500);
    const detail = plan(sql, ...params);
    expect(detail).toContain('SEARCH a USING PRIMARY KEY (name=? AND value=?)');
    expectNoUserScan(detail);
  });

  it('reads group audiences, reports, lookups by id and nesting edges by seeking', () => {
    const groups = groupsQuery(['g-1', 'g-2'], 'u-1', 500);
    const detail = plan(groups.sql, ...groups.params);
    expect(detail).toContain('MERGE (UNION)');
    expect(detail).toContain('SEARCH a USING PRIMARY KEY (group_id=? AND user_id>?)');
    expect(detail).toContain('SEARCH x EXISTS USING PRIMARY KEY (id=?)');
    expect(detail).not.toContain('TEMP B-TREE');
    expectNoUserScan(detail);

    expect(plan(`${REPORTS_OF} AND u.id > ?2 ORDER BY u.id LIMIT ?3`, 'm', 'u-1', 10)).toBe(
      'SEARCH u USING INDEX users_manager (manager_id=? AND id>?)',
    );
    expectNoUserScan(plan(USERS_BY_ID, '[]'));
    expect(plan(CHILD_EDGES, '[]')).toContain('SEARCH e USING PRIMARY KEY (parent_id=?)');
    expect(plan(PARENT_EDGES, '[]')).toContain('SEARCH e USING COVERING INDEX group_nesting_child (child_id=?)');
  });
});
