import type { Directory, IdentityEvent, NewDelivery, Platform, Store, TimerRecord } from '@idrelay/core';
import { createFanOut, targetOf } from '../outbox/fan-out.js';
import { idempotencyKeys, notificationId } from '../outbox/keys.js';
import type { DigestCollector } from '../outbox/plan-event.js';
import type { ZoneClock } from '../preferences/quiet-hours.js';
import type { TemplateRegistry } from '../render/template-registry.js';

/** The timer kind digests use. */
export const DIGEST_TIMER = 'digest';

/** What the digest stage needs. */
export interface DigestOptions {
  store: Store;
  directory: Directory;
  templates: TemplateRegistry;
  zones: ZoneClock;
  platforms: ReadonlySet<Platform>;
  now(): number;
  preferencesAttribute?: string;
  /** A digest timer was scheduled for `dueAt`. */
  onTimer(dueAt: number): void;
  /** Deliveries were enqueued, due at `dueAt`. */
  notify(dueAt: number): void;
}

interface DigestTimerPayload {
  [key: string]: unknown;
  key: string;
  userId: string;
  ruleId: string;
  template: string;
  category: string;
  urgency: NewDelivery['message']['urgency'];
  critical: boolean;
  windowMs: number;
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
    const title = options.templates.get(event.type).render(event).title ?? event.type;
    let until = 0;
    for (const user of users) {
      const key = `${intent.digest.key}:${user.id}`;
      const item = { eventKey: `${event.source}#${event.id}`, type: event.type, title, time: event.time };
      const added = await options.store.digests.add({
        key,
        windowEndsAt: options.now() + intent.digest.windowMs,
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
        };
        await options.store.timers.schedule({
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
    const taken = await options.store.digests.take(payload.key, 5);
    if (!taken || taken.count === 0) return 0;
    const user = (await options.directory.getUser(payload.userId)) ?? { id: payload.userId, attributes: {} };
    const windowKey = `${payload.key}@${timer.dueAt}`;
    const id = notificationId(windowKey, payload.ruleId);
    const now = options.now();
    const fanOut = createFanOut({
      store: options.store,
      templates: options.templates,
      zones: options.zones,
      platforms: options.platforms,
      now,
      notificationId: id,
      template: payload.template,
      type: payload.template,
      category: payload.category,
      critical: payload.critical,
      urgency: payload.urgency,
      context: {
        digest: {
          count: taken.count,
          windowMinutes: Math.round(payload.windowMs / 60_000),
          first: taken.items[0],
          items: taken.items,
        },
      },
      ...(options.preferencesAttribute ? { preferencesAttribute: options.preferencesAttribute } : {}),
    });
    const keyOf = idempotencyKeys(windowKey, payload.ruleId);
    const eventKey = String(taken.items[0]?.eventKey ?? windowKey);
    const batch: NewDelivery[] = [];
    let earliest = Number.POSITIVE_INFINITY;
    for (const { decision, device, message } of await fanOut([user])) {
      if (!message || decision.action === 'suppress' || decision.action === 'skip') continue;
      const dueAt = decision.action === 'defer' ? decision.dueAt : now;
      earliest = Math.min(earliest, dueAt);
      batch.push({
        idempotencyKey: keyOf(device.deviceId),
        eventKey,
        notificationId: id,
        ruleId: payload.ruleId,
        userId: user.id,
        deviceId: device.deviceId,
        platform: device.platform,
        dueAt,
        message,
        target: targetOf(device),
      });
    }
    if (batch.length === 0) return 0;
    await options.store.outbox.enqueue(batch);
    options.notify(earliest);
    return batch.length;
  }

  return { collect, flush };
}
