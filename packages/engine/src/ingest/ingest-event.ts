import { type Clock, type IdentityEvent, IdrelayError, type Logger, type Store, safeParseEvent } from '@idrelay/core';
import type { Planner, PlanResult } from '../outbox/plan-event.js';
import { applyPreferenceEvent } from '../preferences/apply-preference-event.js';

/** What `relay.ingest` returns: what was planned, or that the event was a duplicate. */
export type IngestResult = PlanResult;

function rawText(input: unknown): string {
  let text: string;
  try {
    text = typeof input === 'string' ? input : (JSON.stringify(input) ?? String(input));
  } catch {
    text = String(input);
  }
  return text.length > 16_384 ? `${text.slice(0, 16_384)}…` : text;
}

/**
 * The ingest stage: validate, dedupe by (source, id), persist, audit, plan. The event is stored as `received`
 * before planning and marked `planned` after every delivery is in the outbox, so a crash in between is repaired by
 * {@link replanPending} on the next start. Invalid input is recorded with `recordRejected` and audited before
 * `ERR_EVENT_INVALID` is thrown — never dropped silently. An ingested `preference.changed` (a directory connector
 * reporting an edited preference attribute) updates the stored preferences before planning.
 *
 * @example
 * ```ts
 * const ingest = createIngest({ store, planner, clock, logger });
 * const result = await ingest(body);
 * ```
 */
export function createIngest(options: { store: Store; planner: Planner; clock: Clock; logger: Logger }) {
  const { store, planner, clock } = options;
  return async function ingest(input: unknown): Promise<IngestResult> {
    const receivedAt = clock.now();
    const parsed = safeParseEvent(input);
    if (!parsed.success) {
      const error = parsed.error;
      await store.events.recordRejected({ receivedAt, code: error.code, reason: error.message, raw: rawText(input) });
      await store.audit.append([
        {
          at: receivedAt,
          action: 'event.rejected',
          actor: 'system',
          details: { code: error.code, type: error.details?.type, issues: error.details?.issues.length ?? 0 },
        },
      ]);
      options.logger.warn({ code: error.code, type: error.details?.type }, 'rejected an invalid event');
      throw error;
    }
    const event = parsed.event;
    const { inserted, key } = await store.events.record(event, receivedAt);
    if (!inserted) {
      return {
        eventKey: key,
        duplicate: true,
        rules: [],
        notifications: [],
        recipients: 0,
        deliveries: 0,
        deferred: 0,
        suppressed: 0,
      };
    }
    // Audit in parallel with planning: the verification path is latency-bound, and the entry does not gate it.
    const audited = store.audit.append([
      { at: receivedAt, action: 'event.ingested', actor: event.source, eventRef: key, details: { type: event.type } },
    ]);
    let result: PlanResult;
    try {
      if (event.type === 'idrelay.preference.changed') await applyPreferenceEvent(store, event, receivedAt);
      result = await planEvent(store, planner, key, event, clock);
    } finally {
      await audited;
    }
    return result;
  };
}

async function planEvent(
  store: Store,
  planner: Planner,
  key: string,
  event: IdentityEvent,
  clock: Clock,
): Promise<PlanResult> {
  const result = await planner.plan(key, event);
  await store.events.markPlanned(key);
  await store.audit.append([
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
      },
    },
  ]);
  return result;
}

/**
 * Re-plans events recorded but never marked planned (the process stopped mid-fan-out). Idempotency keys make the
 * repeat insert only the deliveries that were missing.
 *
 * @example
 * ```ts
 * const { replanned } = await replanPending(store, planner, clock, logger);
 * ```
 */
export async function replanPending(
  store: Store,
  planner: Planner,
  clock: Clock,
  logger: Logger,
): Promise<{ replanned: number }> {
  let replanned = 0;
  const failed = new Set<string>();
  for (;;) {
    const pending = (await store.events.listUnplanned(100)).filter((e) => !failed.has(e.key));
    if (pending.length === 0) return { replanned };
    for (const stored of pending) {
      try {
        await planEvent(store, planner, stored.key, stored.event, clock);
        replanned++;
      } catch (error) {
        // One event that cannot be planned (a template was removed) must not block the others.
        failed.add(stored.key);
        logger.error({ err: error, eventKey: stored.key }, 'could not re-plan an event');
        if (error instanceof IdrelayError && error.code === 'ERR_STORE_CLOSED') throw error;
      }
    }
  }
}
