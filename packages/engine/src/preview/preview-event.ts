import {
  type AudienceSpec,
  type Directory,
  type EventLimits,
  type EventStore,
  eventKey,
  type IdentityEvent,
  type Platform,
  type PushMessage,
} from '@idrelay/core';
import { parseEvent } from '@idrelay/core/events';
import { audiencePages } from '../audience/resolve-audience.js';
import { createFanOut, type PlanContext } from '../plan/fan-out.js';
import { planOf } from '../plan/plan-event.js';
import { subjectUser } from '../plan/subject-user.js';
import { evaluateRules, type RuleTrailEntry } from '../rules/evaluate-rules.js';
import type { Rule } from '../rules/rule.js';

/** What would happen to one device. */
export interface PreviewDevice {
  deviceId: string;
  platform: Platform;
  action: 'send' | 'defer' | 'suppress' | 'skip';
  /** Why: the preference rule, the quiet hours, the critical override, a missing transport. */
  reason: string;
  /** When a deferred delivery would go out. */
  dueAt?: number;
  /** The message that would be sent. */
  message?: PushMessage;
}

/** A recipient planning would fail for, and why. */
export interface PreviewFailure {
  userId: string;
  code: string;
  reason: string;
}

/** One recipient in a preview. */
export interface PreviewRecipient {
  userId: string;
  locale?: string;
  timeZone?: string;
  /** Empty when the user has no registered device. */
  devices: PreviewDevice[];
}

/** One rule's notification in a preview. */
export interface PreviewNotification {
  ruleId: string;
  notificationId: string;
  audience: AudienceSpec;
  template: string;
  category: string;
  critical: boolean;
  /** Digested intents are collected for a window rather than sent; the preview shows the per-event render. */
  digestWindowMs?: number;
  recipients: PreviewRecipient[];
  /** Recipients planning would fail for (a bad directory value); the others would still get their push. */
  failures: PreviewFailure[];
  /** More recipients exist than the preview's `limit`. */
  truncated: boolean;
  /** When the notification stops being worth sending. */
  expiresAt?: number;
}

/**
 * What {@link RelayPreview} returns.
 *
 * @example
 * ```ts
 * const { notifications }: PreviewResult = await relay.preview(event);
 * ```
 */
export interface PreviewResult {
  eventKey: string;
  /** The event was already ingested; ingesting it again would be a no-op. */
  alreadyIngested: boolean;
  rules: RuleTrailEntry[];
  notifications: PreviewNotification[];
}

/** Explains an event without sending or writing anything. */
export type RelayPreview = (input: unknown, options?: { limit?: number }) => Promise<PreviewResult>;

/**
 * Builds `relay.preview`: the same rules, audience pages, preferences and templates as planning, read-only.
 *
 * @example
 * ```ts
 * const result = await relay.preview(event, { limit: 20 });
 * for (const n of result.notifications) console.log(n.ruleId, n.recipients.map((r) => r.devices));
 * ```
 */
export function createPreview(options: {
  context: PlanContext;
  events: Pick<EventStore, 'get'>;
  directory: Directory;
  rules: readonly Rule[];
  limits?: EventLimits;
  /** The planner's rule skip, so the preview shows the same verdicts. */
  skipRule?(event: IdentityEvent, rule: Rule): string | undefined;
}): RelayPreview {
  return async (input, { limit = 50 } = {}) => {
    const event = parseEvent(input, options.limits);
    const key = eventKey(event);
    const alreadyIngested = (await options.events.get(key)) !== undefined;
    const { intents, trail } = await evaluateRules(
      options.rules,
      event,
      { user: () => subjectUser(options.directory, event) },
      options.context.now(),
      { skip: (rule) => options.skipRule?.(event, rule) },
    );
    const notifications: PreviewNotification[] = [];
    for (const intent of intents) {
      const plan = planOf(key, event, intent);
      // A digested intent would send the digest template later; the preview shows this event's own message.
      if (intent.digest) plan.template = event.type;
      const fanOut = createFanOut(options.context, plan);
      const recipients: PreviewRecipient[] = [];
      const failures: PreviewFailure[] = [];
      let truncated = false;
      const pages = audiencePages(options.directory, intent.audience, {
        pageSize: Math.min(limit + 1, 500),
        ...(intent.recipients ? { recipients: intent.recipients } : {}),
      });
      for await (const page of pages) {
        const room = limit - recipients.length;
        if (page.length > room) truncated = true;
        const users = page.slice(0, room);
        const byUser = new Map<string, PreviewRecipient>();
        for (const user of users) {
          const recipient: PreviewRecipient = { userId: user.id, devices: [] };
          if (user.locale) recipient.locale = user.locale;
          if (user.timeZone) recipient.timeZone = user.timeZone;
          byUser.set(user.id, recipient);
          recipients.push(recipient);
        }
        const found = await fanOut(users);
        failures.push(...found.failures);
        for (const verdict of found.verdicts) {
          const device: PreviewDevice = {
            deviceId: verdict.device.deviceId,
            platform: verdict.device.platform,
            action: verdict.decision.action,
            reason: verdict.decision.reason,
          };
          if (verdict.decision.action === 'defer') device.dueAt = verdict.decision.dueAt;
          if (verdict.message) device.message = verdict.message;
          byUser.get(verdict.user.id)?.devices.push(device);
        }
        if (recipients.length >= limit) break;
      }
      const notification: PreviewNotification = {
        ruleId: intent.ruleId,
        notificationId: plan.notificationId,
        audience: intent.audience,
        template: intent.template,
        category: intent.category,
        critical: intent.critical,
        recipients,
        failures,
        truncated,
      };
      if (intent.digest) notification.digestWindowMs = intent.digest.windowMs;
      if (intent.expiresAt !== undefined) notification.expiresAt = intent.expiresAt;
      notifications.push(notification);
    }
    return { eventKey: key, alreadyIngested, rules: trail, notifications };
  };
}
