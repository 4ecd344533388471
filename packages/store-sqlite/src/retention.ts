import type { RetentionCounts, RetentionStore } from '@idrelay/core';
import type { SqliteContext } from './driver.js';
import { OUTGOING_STATUS } from './status-codes.js';

/**
 * @internal Each kind is one bounded `DELETE … WHERE id IN (SELECT … LIMIT ?)` whose inner SELECT walks an index
 * of exactly the rows that may go, oldest first: a prune never reads a table whole, however large it has grown.
 */
export const PRUNE = {
  deliveries: `DELETE FROM deliveries WHERE id IN (
    SELECT id FROM deliveries INDEXED BY deliveries_finished WHERE ready_at IS NULL AND updated_at < ?
    ORDER BY updated_at LIMIT ?)`,
  // A message is in use while a delivery of its notification refers to it (deliveries_notification).
  messages: `DELETE FROM messages WHERE id IN (
    SELECT m.id FROM messages m INDEXED BY messages_created WHERE m.created_at < ?1
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_ref = m.notification_ref AND d.message_ref = m.id)
    ORDER BY m.created_at LIMIT ?2)`,
  notifications: `DELETE FROM notifications WHERE id IN (
    SELECT n.id FROM notifications n INDEXED BY notifications_created WHERE n.created_at < ?1
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.notification_ref = n.id)
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.notification_ref = n.id)
    ORDER BY n.created_at LIMIT ?2)`,
  rejectedEvents: `DELETE FROM rejected_events WHERE id IN (
    SELECT id FROM rejected_events INDEXED BY rejected_events_received WHERE received_at < ?
    ORDER BY received_at LIMIT ?)`,
  events: `DELETE FROM events WHERE rowid IN (
    SELECT rowid FROM events INDEXED BY events_planned WHERE status = 'planned' AND received_at < ?
    ORDER BY received_at LIMIT ?)`,
  actionTokens: `DELETE FROM action_tokens WHERE rowid IN (
    SELECT rowid FROM action_tokens INDEXED BY action_tokens_finished
    WHERE coalesce(used_at, revoked_at, expires_at) < ? ORDER BY coalesce(used_at, revoked_at, expires_at) LIMIT ?)`,
  outgoing: `DELETE FROM outgoing WHERE id IN (
    SELECT id FROM outgoing INDEXED BY outgoing_finished WHERE status IN (${OUTGOING_STATUS.delivered}, ${OUTGOING_STATUS.dead})
      AND status = ? AND updated_at < ? ORDER BY updated_at LIMIT ?)`,
  // A removed device stays while a delivery shows where it went (deliveries_pair leads with the device).
  devices: `DELETE FROM devices WHERE id IN (
    SELECT v.id FROM devices v INDEXED BY devices_removed WHERE v.removed_at IS NOT NULL AND v.removed_at < ?1
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.device_ref = v.id)
    ORDER BY v.removed_at LIMIT ?2)`,
} as const;

/**
 * {@link RetentionStore}: at most `limit` records of each kind per call, each kind in its own short transaction so
 * a prune never holds the database for long. The audit chain is never touched.
 */
export function createRetentionStore(context: SqliteContext): RetentionStore {
  const { statement, run, transaction } = context;
  const prune = (sql: string, ...params: number[]): number =>
    transaction(() => Number(statement(sql).run(...params).changes));

  return {
    prune: (cutoffs, limit) =>
      run(() => {
        const counts: RetentionCounts = {
          deliveries: 0,
          messages: 0,
          rejectedEvents: 0,
          events: 0,
          actionTokens: 0,
          outgoing: 0,
          devices: 0,
        };
        const n = Math.max(0, Math.trunc(limit));
        if (n === 0) return counts;
        if (cutoffs.deliveries !== undefined) {
          counts.deliveries = prune(PRUNE.deliveries, cutoffs.deliveries, n);
          counts.messages = prune(PRUNE.messages, cutoffs.deliveries, n);
          prune(PRUNE.notifications, cutoffs.deliveries, n);
        }
        if (cutoffs.rejectedEvents !== undefined) {
          counts.rejectedEvents = prune(PRUNE.rejectedEvents, cutoffs.rejectedEvents, n);
        }
        if (cutoffs.events !== undefined) counts.events = prune(PRUNE.events, cutoffs.events, n);
        if (cutoffs.actionTokens !== undefined)
          counts.actionTokens = prune(PRUNE.actionTokens, cutoffs.actionTokens, n);
        if (cutoffs.outgoing !== undefined) {
          counts.outgoing = prune(PRUNE.outgoing, OUTGOING_STATUS.delivered, cutoffs.outgoing, n);
        }
        if (cutoffs.deadOutgoing !== undefined && counts.outgoing < n) {
          counts.outgoing += prune(PRUNE.outgoing, OUTGOING_STATUS.dead, cutoffs.deadOutgoing, n - counts.outgoing);
        }
        if (cutoffs.devices !== undefined) counts.devices = prune(PRUNE.devices, cutoffs.devices, n);
        return counts;
      }),
  };
}
