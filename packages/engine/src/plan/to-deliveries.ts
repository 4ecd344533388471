import type { NewDelivery } from '@idrelay/core';
import type { DeviceVerdict, NotificationPlan } from './fan-out.js';

/** Deliveries from one page of verdicts, and what became of the others. */
export interface PageDeliveries {
  deliveries: NewDelivery[];
  /** The earliest due time among them, for the dispatcher's wake-up; `Infinity` when there are none. */
  earliest: number;
  deferred: number;
  suppressed: number;
  skipped: number;
}

/**
 * Turns verdicts into outbox deliveries: the one place an intent becomes rows, for planning and digests alike.
 * Deferred deliveries are due when the quiet hours end; every row carries the plan's priority and expiry.
 *
 * @example
 * ```ts
 * const { deliveries, earliest } = toDeliveries(plan, (await fanOut(page)).verdicts, now);
 * await store.outbox.enqueue(deliveries);
 * ```
 */
export function toDeliveries(plan: NotificationPlan, verdicts: readonly DeviceVerdict[], now: number): PageDeliveries {
  const page: PageDeliveries = {
    deliveries: [],
    earliest: Number.POSITIVE_INFINITY,
    deferred: 0,
    suppressed: 0,
    skipped: 0,
  };
  for (const { decision, device, message, variant } of verdicts) {
    if (decision.action === 'suppress') page.suppressed++;
    else if (decision.action === 'skip') page.skipped++;
    else if (message) {
      const dueAt = decision.action === 'defer' ? decision.dueAt : now;
      if (decision.action === 'defer') page.deferred++;
      if (dueAt < page.earliest) page.earliest = dueAt;
      const delivery: NewDelivery = {
        eventKey: plan.eventKey,
        notificationId: plan.notificationId,
        ruleId: plan.ruleId,
        userId: device.userId,
        deviceId: device.deviceId,
        platform: device.platform,
        dueAt,
        priority: plan.priority,
        message,
        variant: variant ?? '',
      };
      if (plan.expiresAt !== undefined) delivery.expiresAt = plan.expiresAt;
      page.deliveries.push(delivery);
    }
  }
  return page;
}
