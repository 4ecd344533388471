import type { AuditStore, Clock, Logger, RetentionCounts, RetentionCutoffs, RetentionStore } from '@idrelay/core';
import { createTimeSlice, createWake, type Scheduler } from '../dispatch/scheduler.js';

const yieldTurn = createTimeSlice(0);

const DAY = 86_400_000;

/**
 * How long finished records are kept, per kind (ms after they finished), and how often the sweep runs. The audit
 * chain is never pruned.
 *
 * @example
 * ```ts
 * createRelay({ ...options, retention: { deliveriesMs: 30 * 86_400_000, intervalMs: 15 * 60_000 } });
 * ```
 */
export interface RetentionPolicy {
  /** Settled deliveries (delivered, failed, dead, cancelled, expired) and the messages they used. Default 7 days. */
  deliveriesMs?: number;
  /** Rejected inputs. Default 30 days. */
  rejectedEventsMs?: number;
  /** Planned events: the dedupe window (a redelivery older than this is planned again). Default 30 days. */
  eventsMs?: number;
  /** Used, revoked or expired action tokens. Default 1 day. */
  actionTokensMs?: number;
  /** Outgoing entries delivered to their consumer. Default 7 days. */
  outgoingMs?: number;
  /** Dead-lettered outgoing entries nobody redrove. Default 30 days. */
  deadOutgoingMs?: number;
  /** Removed devices no delivery references any more. Default 30 days. */
  devicesMs?: number;
  /** How often the sweep runs. Default 1 hour. */
  intervalMs?: number;
  /** Rows per kind per statement; a sweep repeats until a round removes nothing. Default 1,000. */
  batchSize?: number;
}

/** The defaults of {@link RetentionPolicy}, as documented there. */
export const DEFAULT_RETENTION: Readonly<Required<RetentionPolicy>> = {
  deliveriesMs: 7 * DAY,
  rejectedEventsMs: 30 * DAY,
  eventsMs: 30 * DAY,
  actionTokensMs: DAY,
  outgoingMs: 7 * DAY,
  deadOutgoingMs: 30 * DAY,
  devicesMs: 30 * DAY,
  intervalMs: 3_600_000,
  batchSize: 1_000,
};

/** Adds `b` into `a`. */
function add(a: RetentionCounts, b: RetentionCounts): void {
  for (const key of Object.keys(a) as (keyof RetentionCounts)[]) a[key] += b[key];
}

/**
 * The retention sweep: every `intervalMs`, removes what finished longer ago than its window, in bounded batches
 * (each statement touches at most `batchSize` rows, and the loop yields between rounds, so the sweep never holds
 * the database or the event loop for long). What it removed is audited as one `retention.pruned` entry.
 *
 * @example
 * ```ts
 * const retention = createRetention({ retention: store.retention, audit: store.audit, clock, scheduler, logger, policy: {} });
 * retention.start();
 * ```
 */
export function createRetention(options: {
  retention: RetentionStore;
  audit: Pick<AuditStore, 'append'>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  policy: RetentionPolicy;
  /** Gives the event loop a turn between rounds. */
  slice?: () => Promise<void>;
}) {
  const policy = { ...DEFAULT_RETENTION, ...options.policy };
  let running = false;
  let current: Promise<RetentionCounts> | undefined;
  const wake = createWake(options.scheduler, options.clock, () => void tick());

  async function runOnce(): Promise<RetentionCounts> {
    const now = options.clock.now();
    const cutoffs: RetentionCutoffs = {
      deliveries: now - policy.deliveriesMs,
      rejectedEvents: now - policy.rejectedEventsMs,
      events: now - policy.eventsMs,
      actionTokens: now - policy.actionTokensMs,
      outgoing: now - policy.outgoingMs,
      deadOutgoing: now - policy.deadOutgoingMs,
      devices: now - policy.devicesMs,
    };
    const total: RetentionCounts = {
      deliveries: 0,
      messages: 0,
      rejectedEvents: 0,
      events: 0,
      actionTokens: 0,
      outgoing: 0,
      devices: 0,
    };
    for (let round = 0; round < 10_000; round++) {
      const counts = await options.retention.prune(cutoffs, policy.batchSize);
      add(total, counts);
      if (Object.values(counts).every((n) => n === 0)) break;
      // Let deliveries and ingests run between rounds.
      await (options.slice ?? yieldTurn)();
      if (!running && current !== undefined) break;
    }
    if (Object.values(total).some((n) => n > 0)) {
      await options.audit.append([
        { at: options.clock.now(), action: 'retention.pruned', actor: 'system', details: { ...total } },
      ]);
      options.logger.info({ ...total }, 'retention pruned finished records');
    }
    return total;
  }

  async function tick(): Promise<void> {
    if (!running) return;
    try {
      current = runOnce();
      await current;
    } catch (error) {
      options.logger.error({ err: error }, 'the retention sweep failed; it runs again at the next interval');
    } finally {
      current = undefined;
    }
    if (running) wake.arm(options.clock.now() + policy.intervalMs);
  }

  return {
    start(): void {
      running = true;
      wake.arm(options.clock.now() + policy.intervalMs);
    },
    /** Sweeps now; resolves with what was removed. */
    runOnce,
    async stop(): Promise<void> {
      running = false;
      wake.clear();
      await current?.catch(() => undefined);
    },
  };
}
