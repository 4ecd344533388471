import type {
  DigestStore,
  Directory,
  IdentityEvent,
  OutboxStore,
  TimerRecord,
  TimerStore,
  Urgency,
} from '@idrelay/core';
import { eventKey } from '@idrelay/core';
import { createFanOut, type NotificationPlan, type PlanContext } from '../plan/fan-out.js';
import { notificationId } from '../plan/keys.js';
import type { DigestCollector } from '../plan/plan-event.js';
import { toDeliveries } from '../plan/to-deliveries.js';
import { redactSecrets } from '../render/secrets.js';

/** The timer kind digests use. */
export const DIGEST_TIMER = 'digest';

/** What the digest stage needs. */
export interface DigestOptions {
  context: PlanContext;
  digests: DigestStore;
  timers: Pick<TimerStore, 'schedule'>;
  outbox: Pick<OutboxStore, 'enqueue'>;
  directory: Directory;
  /** A digest timer was scheduled for `dueAt`. */
  onTimer(dueAt: number): void;
  /** Deliveries were enqueued, due at `dueAt`, with `priority`. */
  notify(dueAt: number, priority: number): void;
}

interface DigestTimerPayload {
  [key: string]: unknown;
  key: string;
  userId: string;
  ruleId: string;
  template: string;
  category: string;
  urgency: Urgency;
  critical: boolean;
  windowMs: number;
  /** Claim priority of the alert; absent in timers written before it was recorded. */
  priority?: number;
}

/**
 * Digests bursts (failed workflows, failed syncs): each matching event adds an item to the recipient's open window
 * in `store.digests`; the first item of a window schedules a durable timer for its end, and the flush sends one
 * alert per window per recipient with the count inside. Timers survive restarts like the outbox does.
 *
 * @example
 * ```ts
 * const digests = createDigests(options);
 * await digests.flush(timer); // when the timer fires
 * ```
 */
export function createDigests(options: DigestOptions) {
  const collect: DigestCollector = async (intent, event: IdentityEvent, users) => {
    const title = options.context.templates.get(event.type).render(redactSecrets(event)).title ?? event.type;
    let until = 0;
    for (const user of users) {
      const key = `${intent.digest.key}:${user.id}`;
      // CloudEvents makes `time` optional; an event without one is listed at the time it was digested.
      const time = event.time ?? new Date(options.context.now()).toISOString();
      const item = { eventKey: eventKey(event), type: event.type, title, time };
      const added = await options.digests.add({
        key,
        windowEndsAt: options.context.now() + intent.digest.windowMs,
        item,
      });
      until = added.windowEndsAt;
      if (added.opened) {
        const payload: DigestTimerPayload = {
          key,
          userId: user.id,
          ruleId: intent.ruleId,
          template: intent.template,
          category: intent.category,
          urgency: intent.urgency,
          critical: intent.critical,
          windowMs: intent.digest.windowMs,
          priority: intent.priority,
        };
        await options.timers.schedule({
          id: `${DIGEST_TIMER}:${key}@${added.windowEndsAt}`,
          kind: DIGEST_TIMER,
          dueAt: added.windowEndsAt,
          payload,
        });
        options.onTimer(added.windowEndsAt);
      }
    }
    return until;
  };

  async function flush(timer: TimerRecord): Promise<number> {
    const payload = timer.payload as DigestTimerPayload;
    const taken = await options.digests.take(payload.key, 5);
    if (!taken || taken.count === 0) return 0;
    const user = (await options.directory.getUser(payload.userId)) ?? { id: payload.userId, attributes: {} };
    const windowKey = `${payload.key}@${timer.dueAt}`;
    const plan: NotificationPlan = {
      notificationId: notificationId(windowKey, payload.ruleId),
      eventKey: String(taken.items[0]?.eventKey ?? windowKey),
      ruleId: payload.ruleId,
      template: payload.template,
      type: payload.template,
      category: payload.category,
      critical: payload.critical,
      urgency: payload.urgency,
      priority: payload.priority ?? (payload.critical ? 50 : 0),
      context: {
        digest: {
          count: taken.count,
          windowMinutes: Math.round(payload.windowMs / 60_000),
          first: taken.items[0],
          items: taken.items,
        },
      },
    };
    const found = await createFanOut(options.context, plan)([user]);
    const rows = toDeliveries(plan, found.verdicts, options.context.now());
    if (rows.deliveries.length === 0) return 0;
    await options.outbox.enqueue(rows.deliveries);
    options.notify(rows.earliest, plan.priority);
    return rows.deliveries.length;
  }

  return { collect, flush };
}
