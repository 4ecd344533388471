import {
  type AuditStore,
  type Clock,
  canonicalJson,
  type EventLimits,
  type EventStore,
  eventKey,
  type IdentityEvent,
  IdrelayError,
  type Logger,
  type PreferenceStore,
  type SubjectIdentifier,
} from '@idrelay/core';
import { encodeSubjectAttribute, safeParseEvent } from '@idrelay/core/events';
import { emptyPlan, type Planner, type PlanResult } from '../plan/plan-event.js';
import { applyPreferenceEvent } from '../preferences/apply-preference-event.js';

/** What `relay.ingest` returns: what was planned, or that the event was a duplicate. */
export type IngestResult = PlanResult;

/** The longest input text kept with a rejection, in characters. */
const RAW_LIMIT = 16_384;

/**
 * The input as text for the rejected-input record: never throws (a circular object, a throwing `toString`), never
 * holds a NUL (PostgreSQL refuses them), and is cut to a bound.
 */
export function rawText(input: unknown): string {
  let text: string;
  try {
    text = typeof input === 'string' ? input : (JSON.stringify(input) ?? typeof input);
  } catch {
    try {
      text = Object.prototype.toString.call(input);
    } catch {
      text = '(unreadable input)';
    }
  }
  if (text.length > RAW_LIMIT) text = `${text.slice(0, RAW_LIMIT)}…`;
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

/**
 * The stored event as canonical JSON, with an `idrelaysubject` stored as an object (before the attribute became a
 * base64url String) in the String form parsing gives it now, so a producer's retry of such an event is a duplicate
 * rather than a conflict.
 */
function comparable(stored: IdentityEvent): string {
  const subject: unknown = stored.idrelaysubject;
  if (subject === null || typeof subject !== 'object') return canonicalJson(stored);
  try {
    return canonicalJson({ ...stored, idrelaysubject: encodeSubjectAttribute(subject as SubjectIdentifier) });
  } catch {
    return canonicalJson(stored);
  }
}

/** What the ingest stage needs. */
export interface IngestOptions {
  events: EventStore;
  audit: Pick<AuditStore, 'append'>;
  preferences: Pick<PreferenceStore, 'get' | 'put'>;
  planner: Planner;
  clock: Clock;
  logger: Logger;
  limits?: EventLimits;
}

/**
 * The ingest stage: validate, dedupe by (source, id), persist, audit, plan. The event is stored as `received`
 * before planning and marked `planned` after every delivery is in the outbox, so planning cut short (a crash, a
 * store error, a dropped connection) is finished later — by the producer's retry, which is answered `resumed`
 * rather than `duplicate`, by the running relay's sweep ({@link Ingest.replanPending}), or on the next start.
 * Invalid input is recorded with `recordRejected` and audited before `ERR_EVENT_INVALID` is thrown — never
 * dropped silently — and so is a second, different event under an id already taken (`conflict`). An ingested
 * `preference.changed` (a directory connector reporting an edited preference attribute) updates the stored
 * preferences before planning.
 *
 * @example
 * ```ts
 * const { ingest } = createIngest({ events: store.events, audit: store.audit, preferences: store.preferences, planner, clock, logger });
 * const result = await ingest(body);
 * ```
 */
export function createIngest(options: IngestOptions) {
  const { events, audit, clock, logger } = options;
  /** Events this process is planning now, so a retry or the sweep waits for them instead of racing them. */
  const planning = new Map<string, Promise<PlanResult>>();

  async function reject(
    receivedAt: number,
    code: string,
    reason: string,
    raw: string,
    details: Record<string, unknown>,
  ) {
    await events.recordRejected({ receivedAt, code, reason, raw });
    await audit.append([{ at: receivedAt, action: 'event.rejected', actor: 'system', details: { code, ...details } }]);
  }

  function plan(key: string, event: IdentityEvent): Promise<PlanResult> {
    const running = planning.get(key);
    if (running) return running;
    const work = (async () => {
      if (event.type === 'idrelay.preference.changed') {
        await applyPreferenceEvent(options.preferences, event, clock.now());
      }
      const result = await options.planner.plan(key, event);
      // The mark and its audit entry are one write.
      await events.markPlanned(key, {
        audit: [
          {
            at: clock.now(),
            action: 'event.planned',
            actor: 'system',
            eventRef: key,
            details: {
              rules: result.notifications.map((n) => n.ruleId),
              recipients: result.recipients,
              deliveries: result.deliveries,
              deferred: result.deferred,
              suppressed: result.suppressed,
              failed: result.failed,
            },
          },
        ],
      });
      return result;
    })();
    planning.set(key, work);
    void work.finally(() => planning.delete(key)).catch(() => undefined);
    return work;
  }

  async function ingest(input: unknown): Promise<IngestResult> {
    const receivedAt = clock.now();
    const parsed = safeParseEvent(input, options.limits);
    if (!parsed.success) {
      const error = parsed.error;
      await reject(receivedAt, error.code, error.message, rawText(input), {
        type: error.details?.type,
        issues: error.details?.issues.length ?? 0,
      });
      logger.warn({ code: error.code, type: error.details?.type }, 'rejected an invalid event');
      throw error;
    }
    const event = parsed.event;
    // The event and its `event.ingested` entry are one write (only when it is new).
    const { inserted, key } = await events.record(event, receivedAt, {
      audit: [
        {
          at: receivedAt,
          action: 'event.ingested',
          actor: event.source,
          eventRef: eventKey(event),
          details: { type: event.type },
        },
      ],
    });
    if (inserted) return plan(key, event);
    return again(key, event, receivedAt, input);
  }

  /** An event whose key is taken: a conflict, a duplicate, or one whose planning never finished. */
  async function again(key: string, event: IdentityEvent, receivedAt: number, input: unknown): Promise<IngestResult> {
    await planning.get(key)?.catch(() => undefined);
    const stored = await events.get(key);
    if (stored === undefined) return emptyPlan(key, { duplicate: true });
    if (comparable(stored.event) !== canonicalJson(event)) {
      const reason = `An event with source ${event.source} and id ${event.id} was ingested before with another payload; the first one stands.`;
      await reject(receivedAt, 'ERR_EVENT_CONFLICT', reason, rawText(input), { type: event.type, eventRef: key });
      logger.warn({ eventKey: key, type: event.type }, 'an event reused the id of a different event');
      return emptyPlan(key, { duplicate: true, conflict: true });
    }
    if (stored.status === 'planned') return emptyPlan(key, { duplicate: true });
    logger.info({ eventKey: key }, 'a retried event had not finished planning; resuming it');
    return { ...(await plan(key, stored.event)), resumed: true };
  }

  /**
   * Finishes events recorded but never marked planned, oldest first: at start, every one; from the running relay's
   * sweep, those received before `receivedBefore` (younger ones may still be planning in another process). Safe
   * to repeat: the outbox keeps one delivery per notification and device, so only what was missing is inserted.
   * One event that cannot be planned (a template was removed) is logged and skipped; it is tried again next time.
   */
  async function replanPending(receivedBefore?: number): Promise<{ replanned: number; failed: number }> {
    let replanned = 0;
    const failed = new Set<string>();
    for (;;) {
      const batch = await events.listUnplanned(100, receivedBefore === undefined ? {} : { receivedBefore });
      const pending = batch.filter((e) => !failed.has(e.key) && !planning.has(e.key));
      if (pending.length === 0) return { replanned, failed: failed.size };
      for (const stored of pending) {
        try {
          await plan(stored.key, stored.event);
          replanned++;
        } catch (error) {
          failed.add(stored.key);
          logger.error({ err: error, eventKey: stored.key }, 'could not re-plan an event');
          if (
            error instanceof IdrelayError &&
            (error.code === 'ERR_STORE_CLOSED' || error.code === 'ERR_STORE_UNAVAILABLE')
          ) {
            throw error;
          }
        }
      }
      if (batch.length < 100) return { replanned, failed: failed.size };
    }
  }

  return {
    ingest,
    replanPending,
    /** Resolves when no planning started by this process is in flight. */
    async idle(): Promise<void> {
      while (planning.size > 0) await Promise.allSettled([...planning.values()]);
    },
  };
}

/** The ingest stage from {@link createIngest}. */
export type Ingest = ReturnType<typeof createIngest>;
