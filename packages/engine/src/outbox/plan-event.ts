import type { Directory, DirectoryUser, IdentityEvent, NewDelivery, Platform, Store } from '@idrelay/core';
import { audiencePages } from '../audience/resolve-audience.js';
import type { ZoneClock } from '../preferences/quiet-hours.js';
import type { TemplateRegistry } from '../render/template-registry.js';
import { evaluateRules, type RuleTrailEntry } from '../rules/evaluate-rules.js';
import type { NotificationIntent, Rule } from '../rules/rule.js';
import { createFanOut, targetOf } from './fan-out.js';
import { idempotencyKeys, notificationId } from './keys.js';

/** What planning one rule's notification did. */
export interface PlannedNotification {
  ruleId: string;
  notificationId: string;
  category: string;
  critical: boolean;
  /** Users the audience resolved to (after recipient filters). */
  recipients: number;
  /** Deliveries written to the outbox (deferred ones included). */
  deliveries: number;
  /** Deliveries due later because of quiet hours. */
  deferred: number;
  /** Devices left out by opt-outs. */
  suppressed: number;
  /** Devices left out because no transport serves their platform. */
  skipped: number;
  /** Collected into a digest instead of sent now: the window's end. */
  digestUntil?: number;
}

/**
 * What ingesting an event planned.
 *
 * @example
 * ```ts
 * const result: PlanResult = await relay.ingest(event);
 * if (result.deliveries === 0) console.log(result.rules.filter((r) => !r.matched));
 * ```
 */
export interface PlanResult {
  eventKey: string;
  /** True when the event was seen before; nothing was planned again. */
  duplicate: boolean;
  rules: RuleTrailEntry[];
  notifications: PlannedNotification[];
  recipients: number;
  deliveries: number;
  deferred: number;
  suppressed: number;
}

/** Collects digest items; provided by the digest stage. */
export type DigestCollector = (
  intent: NotificationIntent & { digest: { windowMs: number; key: string } },
  event: IdentityEvent,
  users: DirectoryUser[],
) => Promise<number>;

/** What the planner needs. */
export interface PlannerOptions {
  store: Store;
  directory: Directory;
  rules: readonly Rule[];
  templates: TemplateRegistry;
  zones: ZoneClock;
  platforms: ReadonlySet<Platform>;
  now(): number;
  pageSize: number;
  preferencesAttribute?: string;
  /** Called after each page is enqueued, with its earliest due time, so dispatch starts during fan-out. */
  notify(dueAt: number): void;
  collectDigest: DigestCollector;
}

/**
 * Finds the directory user an event concerns: by its RFC 9493 subject, else by `data.userId`.
 *
 * @example
 * ```ts
 * const user = await subjectUser(directory, event);
 * ```
 */
export async function subjectUser(directory: Directory, event: IdentityEvent): Promise<DirectoryUser | undefined> {
  if (event.idrelaysubject) {
    const found = await directory.findBySubject(event.idrelaysubject);
    if (found) return found;
  }
  const userId = (event.data as { userId?: unknown }).userId;
  return typeof userId === 'string' ? directory.getUser(userId) : undefined;
}

/**
 * Plans an event: rules → audience pages → preferences → render → outbox, one page at a time. Safe to repeat:
 * notification ids and idempotency keys derive from the event key, rule and device, so a re-plan after a crash
 * inserts only what is missing.
 *
 * @example
 * ```ts
 * const planner = createPlanner(options);
 * const result = await planner.plan(key, event);
 * ```
 */
export function createPlanner(options: PlannerOptions) {
  return {
    async plan(key: string, event: IdentityEvent): Promise<PlanResult> {
      const now = options.now();
      const { intents, trail } = await evaluateRules(options.rules, event, {
        user: () => subjectUser(options.directory, event),
      });
      const result: PlanResult = {
        eventKey: key,
        duplicate: false,
        rules: trail,
        notifications: [],
        recipients: 0,
        deliveries: 0,
        deferred: 0,
        suppressed: 0,
      };
      for (const intent of intents) {
        const id = notificationId(key, intent.ruleId);
        const planned: PlannedNotification = {
          ruleId: intent.ruleId,
          notificationId: id,
          category: intent.category,
          critical: intent.critical,
          recipients: 0,
          deliveries: 0,
          deferred: 0,
          suppressed: 0,
          skipped: 0,
        };
        const pages = audiencePages(options.directory, intent.audience, {
          pageSize: options.pageSize,
          ...(intent.recipients ? { recipients: intent.recipients } : {}),
        });
        if (intent.digest) {
          const digest = intent.digest;
          for await (const page of pages) {
            planned.recipients += page.length;
            planned.digestUntil = await options.collectDigest({ ...intent, digest }, event, page);
          }
        } else {
          const fanOut = createFanOut({
            store: options.store,
            templates: options.templates,
            zones: options.zones,
            platforms: options.platforms,
            now,
            notificationId: id,
            template: intent.template,
            type: event.type,
            category: intent.category,
            critical: intent.critical,
            urgency: intent.urgency,
            context: event,
            ...(options.preferencesAttribute ? { preferencesAttribute: options.preferencesAttribute } : {}),
            ...(intent.collapseId ? { collapseId: intent.collapseId } : {}),
          });
          const keyOf = idempotencyKeys(key, intent.ruleId);
          // One enqueue stays in flight while the next page is fetched and built: with a networked store
          // (PostgreSQL) the two overlap; memory stays bounded at two pages.
          let writing: Promise<void> | undefined;
          let finished = false;
          try {
            for await (const page of pages) {
              planned.recipients += page.length;
              const batch: NewDelivery[] = [];
              let earliest = Number.POSITIVE_INFINITY;
              for (const verdict of await fanOut(page)) {
                const { decision, device, message } = verdict;
                if (decision.action === 'suppress') planned.suppressed++;
                else if (decision.action === 'skip') planned.skipped++;
                else if (message) {
                  const dueAt = decision.action === 'defer' ? decision.dueAt : now;
                  if (decision.action === 'defer') planned.deferred++;
                  if (dueAt < earliest) earliest = dueAt;
                  batch.push({
                    idempotencyKey: keyOf(device.deviceId),
                    eventKey: key,
                    notificationId: id,
                    ruleId: intent.ruleId,
                    userId: device.userId,
                    deviceId: device.deviceId,
                    platform: device.platform,
                    dueAt,
                    message,
                    target: targetOf(device),
                    priority: intent.priority,
                  });
                }
              }
              await writing;
              writing = undefined;
              if (batch.length > 0) {
                planned.deliveries += batch.length;
                writing = options.store.outbox.enqueue(batch).then(() => options.notify(earliest));
              }
            }
            await writing;
            finished = true;
          } finally {
            // A page that failed (the directory went away) must not leave the write in flight unobserved.
            if (!finished) await writing?.catch(() => undefined);
          }
        }
        result.notifications.push(planned);
        result.recipients += planned.recipients;
        result.deliveries += planned.deliveries;
        result.deferred += planned.deferred;
        result.suppressed += planned.suppressed;
      }
      return result;
    },
  };
}

/** A planner from {@link createPlanner}. */
export type Planner = ReturnType<typeof createPlanner>;
