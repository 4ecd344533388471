import type { RetentionCounts, RetentionStore } from '@idrelay/core';
import type { PgContext, Query } from './context.js';

/**
 * {@link RetentionStore}: each kind is one `DELETE … WHERE <key> IN (SELECT … LIMIT n)` that walks the index kept
 * for it, so a prune holds no lock for long and never scans what it keeps. The audit chain is never touched.
 */
export function createRetentionStore(context: PgContext): RetentionStore {
  const t = (name: string) => context.table(name);
  const deleted = async (query: Query, sql: string, values: unknown[]) => (await query(sql, values)).rowCount ?? 0;

  /** Deliveries, then the messages and notifications nothing references any more; all older than `cut`. */
  const deliveries = async (cut: number, limit: number) => {
    const removed = await deleted(
      context.query,
      `DELETE FROM ${t('deliveries')} WHERE id IN (
         SELECT id FROM ${t('deliveries')} WHERE ready_at IS NULL AND updated_at < $1 ORDER BY updated_at LIMIT $2)`,
      [cut, limit],
    );
    // A message is used while any delivery of its notification points at it (deliveries_pair leads with the
    // notification). The store stamped it when it was first enqueued.
    const messages = await deleted(
      context.query,
      `DELETE FROM ${t('messages')} WHERE id IN (
         SELECT m.id FROM ${t('messages')} m WHERE m.created_at < $1 AND NOT EXISTS (
           SELECT 1 FROM ${t('deliveries')} d WHERE d.notification_ref = m.notification_ref AND d.message_ref = m.id)
         ORDER BY m.created_at LIMIT $2)`,
      [cut, limit],
    );
    await context.query(
      `DELETE FROM ${t('notifications')} WHERE id IN (
         SELECT n.id FROM ${t('notifications')} n WHERE n.created_at < $1
           AND NOT EXISTS (SELECT 1 FROM ${t('deliveries')} d WHERE d.notification_ref = n.id)
           AND NOT EXISTS (SELECT 1 FROM ${t('messages')} m WHERE m.notification_ref = n.id)
         ORDER BY n.created_at LIMIT $2)`,
      [cut, limit],
    );
    return { deliveries: removed, messages };
  };

  return {
    prune: async (cutoffs, limit) => {
      context.assertOpen();
      const n = Math.max(0, Math.trunc(limit));
      const counts: RetentionCounts = {
        deliveries: 0,
        messages: 0,
        rejectedEvents: 0,
        events: 0,
        actionTokens: 0,
        outgoing: 0,
        devices: 0,
      };
      if (n === 0) return counts;
      const { query } = context;
      if (cutoffs.deliveries !== undefined) Object.assign(counts, await deliveries(cutoffs.deliveries, n));
      if (cutoffs.rejectedEvents !== undefined) {
        counts.rejectedEvents = await deleted(
          query,
          `DELETE FROM ${t('rejected_events')} WHERE id IN (
             SELECT id FROM ${t('rejected_events')} WHERE received_at < $1 ORDER BY received_at LIMIT $2)`,
          [cutoffs.rejectedEvents, n],
        );
      }
      if (cutoffs.events !== undefined) {
        counts.events = await deleted(
          query,
          `DELETE FROM ${t('events')} WHERE key IN (
             SELECT key FROM ${t('events')} WHERE status = 'planned' AND received_at < $1 ORDER BY received_at LIMIT $2)`,
          [cutoffs.events, n],
        );
      }
      if (cutoffs.actionTokens !== undefined) {
        counts.actionTokens = await deleted(
          query,
          `DELETE FROM ${t('action_tokens')} WHERE token_hash IN (
             SELECT token_hash FROM ${t('action_tokens')} WHERE coalesce(used_at, revoked_at, expires_at) < $1
             ORDER BY coalesce(used_at, revoked_at, expires_at) LIMIT $2)`,
          [cutoffs.actionTokens, n],
        );
      }
      if (cutoffs.outgoing !== undefined || cutoffs.deadOutgoing !== undefined) {
        // Delivered and dead entries by their own cut-offs, one bound for both, as one kind.
        counts.outgoing = await deleted(
          query,
          `DELETE FROM ${t('outgoing')} WHERE id IN (
             SELECT id FROM ${t('outgoing')} WHERE status IN ('delivered', 'dead')
               AND updated_at < CASE status WHEN 'delivered' THEN $1::bigint ELSE $2::bigint END
             ORDER BY updated_at LIMIT $3)`,
          [cutoffs.outgoing ?? null, cutoffs.deadOutgoing ?? null, n],
        );
      }
      if (cutoffs.devices !== undefined) {
        counts.devices = await deleted(
          query,
          `DELETE FROM ${t('devices')} WHERE id IN (
             SELECT v.id FROM ${t('devices')} v WHERE v.removed_at < $1
               AND NOT EXISTS (SELECT 1 FROM ${t('deliveries')} d WHERE d.device_ref = v.id)
             ORDER BY v.removed_at LIMIT $2)`,
          [cutoffs.devices, n],
        );
      }
      return counts;
    },
  };
}
