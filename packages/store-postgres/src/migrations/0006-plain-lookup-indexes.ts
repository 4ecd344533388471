import type { Migration } from './migrate.js';

/**
 * Two partial indexes become plain ones: `action_tokens_device` (was `WHERE used_at IS NULL AND revoked_at IS NULL`)
 * and `devices_user` (was `WHERE removed_at IS NULL`).
 *
 * A partial index whose predicate is the liveness condition of the hot statements can serve any of them: consuming
 * a batch of tokens (`… AND used_at IS NULL AND revoked_at IS NULL`) or reading live devices (`… AND removed_at IS
 * NULL`) may be planned as a scan of the whole partial index, filtered on the key. The planner does exactly that
 * when the index's own size estimate is off — right after a burst of pushes or enrolments, before autovacuum has
 * been by — even with the other plan shapes disabled (`ONE_PLAN`): a batch of 20 answers then read 2,000-10,000
 * index entries, 2-10 ms a statement instead of 0.2. A plain index can only be chosen for a condition on its own
 * column, so these statements keep their primary-key probes (test/query-plans.test.ts). The plain indexes also hold
 * the used, revoked and removed rows: a few more entries per device and per user.
 */
export const plainLookupIndexes: Migration = {
  version: 6,
  name: 'plain-lookup-indexes',
  sql: (s) => `
    DROP INDEX ${s}.action_tokens_device;
    CREATE INDEX action_tokens_device ON ${s}.action_tokens (device_id);
    DROP INDEX ${s}.devices_user;
    CREATE INDEX devices_user ON ${s}.devices (user_id);
  `,
};
