import type { AuditStore, Directory, DirectoryUser, IdentityEvent, Logger, OutboxStore } from '@idrelay/core';
import { audiencePages } from '../audience/resolve-audience.js';
import { redactSecrets } from '../render/secrets.js';
import { evaluateRules, type RuleTrailEntry } from '../rules/evaluate-rules.js';
import type { NotificationIntent, Rule } from '../rules/rule.js';
import { createFanOut, type NotificationPlan, type PlanContext, type RecipientFailure } from './fan-out.js';
import { notificationId } from './keys.js';
import { subjectUser } from './subject-user.js';
import { toDeliveries } from './to-deliveries.js';

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
  /** Recipients planning failed for (recorded and audited); the others were planned. */
  failed: number;
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
  /** True when the event was seen before and its planning had finished: nothing was planned again. */
  duplicate: boolean;
  /**
   * True when the event was seen before but its planning had not finished (a store error or a crash cut it
   * short): this call finished it, inserting only the deliveries that were missing.
   */
  resumed?: boolean;
  /**
   * True when an event with this source and id was ingested before with a different payload: the first one
   * stands, this one was recorded as rejected (`ERR_EVENT_CONFLICT`) and audited.
   */
  conflict?: boolean;
  rules: RuleTrailEntry[];
  notifications: PlannedNotification[];
  recipients: number;
  deliveries: number;
  deferred: number;
  suppressed: number;
  /** Recipients planning failed for; the first few are listed in `failures`. */
  failed: number;
  failures?: RecipientFailure[];
}

/** Collects digest items; provided by the digest stage. */
export type DigestCollector = (
  intent: NotificationIntent & { digest: { windowMs: number; key: string } },
  event: IdentityEvent,
  users: DirectoryUser[],
) => Promise<number>;

/** What the planner needs. */
export interface PlannerOptions {
  context: PlanContext;
  outbox: Pick<OutboxStore, 'enqueue'>;
  audit: Pick<AuditStore, 'append'>;
  directory: Directory;
  rules: readonly Rule[];
  pageSize: number;
  logger: Logger;
  /** Called after each page is enqueued, with its earliest due time and priority, so dispatch starts during fan-out. */
  notify(dueAt: number, priority: number): void;
  /** Gives the event loop a turn between pages of a fan-out, and lets urgent work go first (see `createTimeSlice`). */
  slice?: () => Promise<void>;
  collectDigest: DigestCollector;
  /** Why a rule must not notify for an event (a flow it starts sends its own pushes); see `evaluateRules`. */
  skipRule?(event: IdentityEvent, rule: Rule): string | undefined;
}

/** How many recipient failures a result lists and audits one by one; the rest are counted. */
const LISTED_FAILURES = 20;

/** An empty result for `key`. */
export function emptyPlan(key: string, flags: Pick<PlanResult, 'duplicate' | 'resumed' | 'conflict'>): PlanResult {
  return {
    eventKey: key,
    ...flags,
    rules: [],
    notifications: [],
    recipients: 0,
    deliveries: 0,
    deferred: 0,
    suppressed: 0,
    failed: 0,
  };
}

/** The plan of one intent: the rule's choices, fixed for its whole audience. */
export function planOf(key: string, event: IdentityEvent, intent: NotificationIntent): NotificationPlan {
  const plan: NotificationPlan = {
    notificationId: notificationId(key, intent.ruleId),
    eventKey: key,
    ruleId: intent.ruleId,
    template: intent.template,
    type: event.type,
    category: intent.category,
    critical: intent.critical,
    urgency: intent.urgency,
    priority: intent.priority,
    context: redactSecrets(event),
  };
  if (intent.collapseId) plan.collapseId = intent.collapseId;
  if (intent.expiresAt !== undefined) plan.expiresAt = intent.expiresAt;
  return plan;
}

/**
 * Plans an event: rules → audience pages → preferences → render → outbox, one page at a time. Safe to repeat:
 * notification ids derive from the event key and rule, and the outbox keeps one delivery per notification and
 * device, so a re-plan after a crash or a failed attempt inserts only what is missing.
 *
 * @example
 * ```ts
 * const planner = createPlanner(options);
 * const result = await planner.plan(key, event);
 * ```
 */
export function createPlanner(options: PlannerOptions) {
  const { context } = options;

  async function planIntent(
    key: string,
    event: IdentityEvent,
    intent: NotificationIntent,
    failures: RecipientFailure[],
  ): Promise<PlannedNotification> {
    const plan = planOf(key, event, intent);
    const planned: PlannedNotification = {
      ruleId: intent.ruleId,
      notificationId: plan.notificationId,
      category: intent.category,
      critical: intent.critical,
      recipients: 0,
      deliveries: 0,
      deferred: 0,
      suppressed: 0,
      skipped: 0,
      failed: 0,
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
      return planned;
    }
    const fanOut = createFanOut(context, plan);
    // One enqueue stays in flight while the next page is fetched and built: with a networked store (PostgreSQL)
    // the two overlap; memory stays bounded at two pages.
    let writing: Promise<void> | undefined;
    let finished = false;
    try {
      let pageCount = 0;
      for await (const page of pages) {
        // Past the first page this is a fan-out, not a quick notification: its steps take turns with other work.
        const fanning = pageCount++ > 0;
        if (fanning) await options.slice?.();
        planned.recipients += page.length;
        const found = await fanOut(page);
        const rows = toDeliveries(plan, found.verdicts, context.now());
        planned.deferred += rows.deferred;
        planned.suppressed += rows.suppressed;
        planned.skipped += rows.skipped;
        planned.failed += found.failures.length;
        for (const failure of found.failures) if (failures.length < LISTED_FAILURES) failures.push(failure);
        await writing;
        writing = undefined;
        if (fanning) await options.slice?.();
        if (rows.deliveries.length > 0) {
          planned.deliveries += rows.deliveries.length;
          writing = options.outbox.enqueue(rows.deliveries).then(() => options.notify(rows.earliest, plan.priority));
          // Observed now, rethrown at the next `await writing`: a write that fails while the next page is being
          // fetched must not surface as an unhandled rejection.
          writing.catch(() => undefined);
        }
      }
      await writing;
      finished = true;
    } finally {
      // A page that failed (the directory went away) must not leave the write in flight unobserved.
      if (!finished) await writing?.catch(() => undefined);
    }
    return planned;
  }

  return {
    /** Plans `event` under its event key. */
    async plan(key: string, event: IdentityEvent): Promise<PlanResult> {
      const { intents, trail } = await evaluateRules(
        options.rules,
        event,
        { user: () => subjectUser(options.directory, event) },
        context.now(),
        { skip: (rule) => options.skipRule?.(event, rule) },
      );
      const result: PlanResult = { ...emptyPlan(key, { duplicate: false }), rules: trail };
      const failures: RecipientFailure[] = [];
      for (const intent of intents) {
        const planned = await planIntent(key, event, intent, failures);
        result.notifications.push(planned);
        result.recipients += planned.recipients;
        result.deliveries += planned.deliveries;
        result.deferred += planned.deferred;
        result.suppressed += planned.suppressed;
        result.failed += planned.failed;
      }
      if (result.failed > 0) {
        result.failures = failures;
        options.logger.warn({ eventKey: key, failed: result.failed }, 'planning failed for some recipients');
        await options.audit.append(
          failures.map((f) => ({
            at: context.now(),
            action: 'plan.recipient-failed',
            actor: 'system',
            eventRef: key,
            target: f.userId,
            details: { code: f.code, reason: f.reason.slice(0, 500), ofTotal: result.failed },
          })),
        );
      }
      return result;
    },
  };
}

/** A planner from {@link createPlanner}. */
export type Planner = ReturnType<typeof createPlanner>;
