import {
  type AudienceSpec,
  type Directory,
  type Platform,
  type PushMessage,
  parseEvent,
  type Store,
} from '@idrelay/core';
import { audiencePages } from '../audience/resolve-audience.js';
import { createFanOut } from '../outbox/fan-out.js';
import { eventKey, notificationId } from '../outbox/keys.js';
import { subjectUser } from '../outbox/plan-event.js';
import type { ZoneClock } from '../preferences/quiet-hours.js';
import type { TemplateRegistry } from '../render/template-registry.js';
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
  /** More recipients exist than the preview's `limit`. */
  truncated: boolean;
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
  store: Store;
  directory: Directory;
  rules: readonly Rule[];
  templates: TemplateRegistry;
  zones: ZoneClock;
  platforms: ReadonlySet<Platform>;
  now(): number;
  preferencesAttribute?: string;
}): RelayPreview {
  return async (input, { limit = 50 } = {}) => {
    const event = parseEvent(input);
    const key = eventKey(event);
    const now = options.now();
    const alreadyIngested = (await options.store.events.get(key)) !== undefined;
    const { intents, trail } = await evaluateRules(options.rules, event, {
      user: () => subjectUser(options.directory, event),
    });
    const notifications: PreviewNotification[] = [];
    for (const intent of intents) {
      const id = notificationId(key, intent.ruleId);
      const fanOut = createFanOut({
        store: options.store,
        templates: options.templates,
        zones: options.zones,
        platforms: options.platforms,
        now,
        notificationId: id,
        // A digested intent would send the digest template later; the preview shows this event's own message.
        template: intent.digest ? event.type : intent.template,
        type: event.type,
        category: intent.category,
        critical: intent.critical,
        urgency: intent.urgency,
        context: event,
        ...(options.preferencesAttribute ? { preferencesAttribute: options.preferencesAttribute } : {}),
        ...(intent.collapseId ? { collapseId: intent.collapseId } : {}),
      });
      const recipients: PreviewRecipient[] = [];
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
        for (const verdict of await fanOut(users)) {
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
        notificationId: id,
        audience: intent.audience,
        template: intent.template,
        category: intent.category,
        critical: intent.critical,
        recipients,
        truncated,
      };
      if (intent.digest) notification.digestWindowMs = intent.digest.windowMs;
      notifications.push(notification);
    }
    return { eventKey: key, alreadyIngested, rules: trail, notifications };
  };
}
