import type {
  Clock,
  Delivery,
  DeliveryHandler,
  Logger,
  OutboxStore,
  Platform,
  Queue,
  QueueStartOptions,
} from '@idrelay/core';
import { createTimeSlice, createWake, type Scheduler, type TimeSlice } from './scheduler.js';

/** Options of {@link createOutboxQueue}. */
export interface OutboxQueueOptions {
  outbox: Pick<OutboxStore, 'claim' | 'extendLease' | 'nextDueAt'>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** How long a claim is held before another worker may take it again; extended while a batch is in flight. Default 60 s. */
  leaseMs?: number;
  /**
   * The longest a batch may stay in flight, its lease extended all along, before its unanswered sends are
   * aborted and retried. Default 5 minutes.
   */
  maxBatchMs?: number;
  /** Longest sleep between polls, to notice rows other processes added. Default 5 s. */
  pollMs?: number;
  /** Deliveries of at least this priority take the express lane. Default 50 (sign-in verifications use 100). */
  expressPriority?: number;
  /** Express batches in flight per platform, beside the bulk ones. Default 2. */
  expressConcurrency?: number;
  /** Deliveries per express batch. Default 50. */
  expressBatchSize?: number;
  /** Yields the event loop between claims once dispatch has run long; default a slice of its own. */
  slice?: TimeSlice;
}

/** The in-process queue, with hooks to drive it step by step in tests. */
export interface OutboxQueue extends Queue {
  /** Claims one batch per platform now and handles it; resolves with how many deliveries were handled. */
  runOnce(handler: DeliveryHandler, options: { platforms: readonly Platform[]; batchSize: number }): Promise<number>;
  /** Resolves when no batch is in flight. */
  idle(): Promise<void>;
}

type Lane = 'express' | 'bulk';

/**
 * The in-process queue on the store's outbox. Per platform it runs two lanes: bulk batches (up to
 * `concurrency[platform]` in flight, any priority, highest first) and an express lane (`expressConcurrency` small
 * batches of deliveries at or above `expressPriority`), so a sign-in verification is claimed and sent within
 * milliseconds even while a 200,000-device announcement fills every bulk slot, and its sends go ahead of the
 * bulk ones queued inside the transport (`priority: 'high'`).
 *
 * Every batch is fenced and bounded by its lease: while it is in flight its lease is extended (every third of
 * `leaseMs`); if an extension finds the claim lost, or the lease is about to end without one, the batch's signal
 * aborts its unanswered sends, so a send never outlives the claim it was made under and a slow provider never
 * makes this relay re-claim its own batch. A crash leaves rows claimed until their lease expires; then they are
 * claimed again: nothing is lost.
 *
 * @example
 * ```ts
 * const queue = createOutboxQueue({ outbox: store.outbox, clock: systemClock, scheduler, logger });
 * queue.start(handler, { concurrency: { apns: 4, fcm: 4, webpush: 4 }, batchSize: 500 });
 * ```
 */
export function createOutboxQueue(options: OutboxQueueOptions): OutboxQueue {
  const leaseMs = options.leaseMs ?? 60_000;
  const maxBatchMs = options.maxBatchMs ?? 300_000;
  const pollMs = options.pollMs ?? 5_000;
  const expressPriority = options.expressPriority ?? 50;
  const expressConcurrency = options.expressConcurrency ?? 2;
  const expressBatchSize = options.expressBatchSize ?? 50;
  const slice = options.slice ?? createTimeSlice();
  // Sends stop this long before the lease ends, so their outcomes settle while the claim still holds.
  const margin = Math.min(2_000, Math.floor(leaseMs / 10));
  const inFlight = new Set<Promise<void>>();
  const active = new Map<string, number>();
  let handler: DeliveryHandler | undefined;
  let start: Required<QueueStartOptions> | undefined;
  let running = false;
  let pumping: Promise<void> | undefined;
  let again = false;
  // Set by an express notify and by every timed wake; cleared when the express lanes found nothing due.
  let expressHint = true;
  let expressRunning = false;
  let expressAgain = false;
  const wake = createWake(options.scheduler, options.clock, () => {
    expressHint = true;
    void pump();
  });

  /** Runs one claimed batch under its lease: extends it while in flight, aborts sends before it could lapse. */
  async function handle(run: DeliveryHandler, batch: Delivery[], lane: Lane): Promise<void> {
    const controller = new AbortController();
    const ids = batch.map((d) => d.id);
    const token = batch[0]!.claimToken!;
    const claimedAt = options.clock.now();
    let leaseUntil = batch[0]!.leaseUntil ?? claimedAt + leaseMs;
    let deadline: unknown;
    let heartbeat: unknown;
    let finished = false;
    const abort = (reason: string) => {
      if (!controller.signal.aborted) {
        options.logger.warn({ deliveries: batch.length, reason }, 'aborting the unanswered sends of a batch');
        controller.abort(new Error(reason));
      }
    };
    const armDeadline = () => {
      if (deadline !== undefined) options.scheduler.clearTimeout(deadline);
      const stopAt = Math.min(leaseUntil - margin, claimedAt + maxBatchMs);
      deadline = options.scheduler.setTimeout(
        () => abort('the claim is about to end'),
        Math.max(0, stopAt - options.clock.now()),
      );
    };
    const beat = () => {
      heartbeat = options.scheduler.setTimeout(
        () => {
          const now = options.clock.now();
          if (finished || controller.signal.aborted || now - claimedAt >= maxBatchMs) return;
          const until = now + leaseMs;
          options.outbox.extendLease(ids, token, until).then(
            ({ lost }) => {
              if (finished) return;
              if (lost.length > 0) abort(`${lost.length} of the batch were claimed by another worker`);
              else {
                leaseUntil = until;
                armDeadline();
                beat();
              }
            },
            (error: unknown) => {
              // The deadline still stands: without an extension the sends stop before the lease ends.
              options.logger.warn({ err: error }, 'extending a lease failed');
              if (!finished) beat();
            },
          );
        },
        Math.max(1, Math.floor(leaseMs / 3)),
      );
    };
    armDeadline();
    beat();
    try {
      await run(batch, { signal: controller.signal, priority: lane === 'express' ? 'high' : 'normal' });
    } catch (error) {
      // The handler settles what it sent; if it could not, the rows return when their lease ends.
      options.logger.error({ err: error, deliveries: batch.length }, 'delivery handler failed');
    } finally {
      finished = true;
      options.scheduler.clearTimeout(deadline);
      if (heartbeat !== undefined) options.scheduler.clearTimeout(heartbeat);
    }
  }

  function track(slot: string, work: Promise<void>): void {
    active.set(slot, (active.get(slot) ?? 0) + 1);
    const done = work.finally(() => {
      active.set(slot, (active.get(slot) ?? 1) - 1);
      inFlight.delete(done);
      if (running) void pump();
    });
    inFlight.add(done);
  }

  /** Fills one lane's free slots; true when the lane is saturated (more may be due). */
  async function fill(platform: Platform, lane: Lane, limit: number): Promise<boolean> {
    const slot = `${platform}:${lane}`;
    const size = lane === 'express' ? expressBatchSize : start!.batchSize;
    while (running && (active.get(slot) ?? 0) < limit) {
      if (lane === 'bulk') {
        await slice();
        // A verification that arrived while this lane drains a fan-out goes first, not after the whole backlog.
        if (expressHint) await runExpress();
      }
      const batch = await options.outbox.claim({
        limit: size,
        now: options.clock.now(),
        leaseMs,
        platforms: [platform],
        ...(lane === 'express' ? { minPriority: expressPriority } : {}),
      });
      if (batch.length === 0) return false;
      track(slot, handle(handler!, batch, lane));
      if (batch.length < size) return false;
    }
    return (active.get(slot) ?? 0) >= limit;
  }

  /** Fills the express lanes of every platform; keeps the hint while one is saturated (more may be due). */
  async function fillExpress(): Promise<void> {
    expressHint = false;
    let saturated = false;
    for (const platform of Object.keys(start!.concurrency) as Platform[]) {
      if (await fill(platform, 'express', expressConcurrency)) saturated = true;
    }
    if (saturated) expressHint = true;
  }

  /**
   * Runs the express lanes now, on their own: an urgent notify does not wait for the bulk pump to come round (it
   * may be deep in a fan-out's claims). One run at a time; a notify during a run asks for another.
   */
  async function runExpress(): Promise<void> {
    if (expressRunning) {
      expressAgain = true;
      return;
    }
    expressRunning = true;
    try {
      do {
        expressAgain = false;
        await fillExpress();
      } while (expressAgain && running);
    } catch (error) {
      options.logger.error({ err: error }, 'claiming express deliveries failed; the next pump tries again');
      expressHint = true;
    } finally {
      expressRunning = false;
    }
  }

  async function pumpOnce(): Promise<void> {
    if (!running || !handler || !start) return;
    let saturated = false;
    const platforms = Object.entries(start.concurrency) as [Platform, number][];
    if (expressHint) await runExpress();
    for (const [platform, limit] of platforms) {
      if (await fill(platform, 'bulk', limit)) saturated = true;
    }
    if (!running) return;
    const now = options.clock.now();
    const next = saturated ? undefined : await options.outbox.nextDueAt();
    // Rows due now but unclaimed belong to a busy platform; its batches re-pump when they finish.
    wake.arm(next !== undefined && next > now ? Math.min(next, now + pollMs) : now + pollMs);
  }

  function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return pumping;
    }
    pumping = (async () => {
      try {
        do {
          again = false;
          await pumpOnce();
          if (again) await slice();
        } while (again && running);
      } catch (error) {
        options.logger.error({ err: error }, 'claiming deliveries failed; retrying after the poll interval');
        if (running) wake.arm(options.clock.now() + pollMs);
      } finally {
        pumping = undefined;
      }
    })();
    return pumping;
  }

  return {
    name: 'in-process',
    notify(dueAt, priority = 0) {
      if (!running) return;
      const due = dueAt <= options.clock.now();
      if (priority >= expressPriority) {
        expressHint = true;
        if (due && start) {
          slice.urgent();
          void runExpress();
          return;
        }
      }
      if (due) void pump();
      else wake.arm(dueAt);
    },
    start(run, startOptions) {
      handler = run;
      start = { concurrency: startOptions.concurrency, batchSize: startOptions.batchSize ?? 500 };
      running = true;
      void pump();
    },
    async stop() {
      running = false;
      wake.clear();
      await pumping;
      await Promise.all(inFlight);
    },
    async runOnce(run, { platforms, batchSize }) {
      let handled = 0;
      for (const platform of platforms) {
        const batch = await options.outbox.claim({
          limit: batchSize,
          now: options.clock.now(),
          leaseMs,
          platforms: [platform],
        });
        if (batch.length === 0) continue;
        handled += batch.length;
        await handle(run, batch, batch.some((d) => d.priority >= expressPriority) ? 'express' : 'bulk');
      }
      return handled;
    },
    async idle() {
      while (inFlight.size > 0 || pumping) {
        await pumping;
        await Promise.all(inFlight);
      }
    },
  };
}
