import type {
  Clock,
  Delivery,
  DeliveryHandler,
  DeliveryOutcome,
  Logger,
  OutboxStore,
  Platform,
  Queue,
  QueueStartOptions,
} from '@idrelay/core';
import { createWake, type Scheduler } from './scheduler.js';

/** Options of {@link createOutboxQueue}. */
export interface OutboxQueueOptions {
  outbox: OutboxStore;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /** How long a claim is held before another worker may take it again. Default 60 s. */
  leaseMs?: number;
  /** Longest sleep between polls, to notice rows other processes added. Default 5 s. */
  pollMs?: number;
  /** What a handler failure turns into: each delivery of the batch is retried. */
  onHandlerError(batch: readonly Delivery[], error: unknown): DeliveryOutcome[];
}

/** The in-process queue, with hooks to drive it step by step in tests. */
export interface OutboxQueue extends Queue {
  /** Claims one batch per platform now and handles it; resolves with how many deliveries were handled. */
  runOnce(handler: DeliveryHandler, options: { platforms: readonly Platform[]; batchSize: number }): Promise<number>;
  /** Resolves when no batch is in flight. */
  idle(): Promise<void>;
}

/**
 * The in-process queue on the store's outbox: claims due rows per platform with at most `concurrency[platform]`
 * batches in flight, hands them to the handler and settles the outcomes. It wakes on `notify`, on the next due
 * time from the outbox (deferred and retried deliveries), and at least every `pollMs`. A crash between claim and
 * settle leaves rows claimed until their lease expires, then they are claimed again: nothing is lost.
 *
 * @example
 * ```ts
 * const queue = createOutboxQueue({ outbox: store.outbox, clock: systemClock, scheduler, logger, onHandlerError });
 * queue.start(handler, { concurrency: { apns: 4, fcm: 4, webpush: 4 }, batchSize: 500 });
 * ```
 */
export function createOutboxQueue(options: OutboxQueueOptions): OutboxQueue {
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 5_000;
  const inFlight = new Set<Promise<void>>();
  const active = new Map<Platform, number>();
  let handler: DeliveryHandler | undefined;
  let start: Required<QueueStartOptions> | undefined;
  let running = false;
  let pumping: Promise<void> | undefined;
  let again = false;
  const wake = createWake(options.scheduler, options.clock, () => void pump());

  async function handle(run: DeliveryHandler, batch: Delivery[]): Promise<void> {
    let outcomes: DeliveryOutcome[];
    try {
      outcomes = await run(batch);
    } catch (error) {
      options.logger.error({ err: error, deliveries: batch.length }, 'delivery handler failed; retrying the batch');
      outcomes = options.onHandlerError(batch, error);
    }
    try {
      await options.outbox.settle(outcomes);
    } catch (error) {
      // The claims stay until their lease ends; then the rows are claimed again rather than lost.
      options.logger.error({ err: error, deliveries: batch.length }, 'settling outcomes failed');
    }
  }

  function track(platform: Platform, work: Promise<void>): void {
    active.set(platform, (active.get(platform) ?? 0) + 1);
    const done = work.finally(() => {
      active.set(platform, (active.get(platform) ?? 1) - 1);
      inFlight.delete(done);
      if (running) void pump();
    });
    inFlight.add(done);
  }

  async function pumpOnce(): Promise<void> {
    if (!running || !handler || !start) return;
    let saturated = false;
    for (const [platform, limit] of Object.entries(start.concurrency) as [Platform, number][]) {
      while (running && (active.get(platform) ?? 0) < limit) {
        const batch = await options.outbox.claim({
          limit: start.batchSize,
          now: options.clock.now(),
          leaseMs,
          platforms: [platform],
        });
        if (batch.length === 0) break;
        track(platform, handle(handler, batch));
        if (batch.length < start.batchSize) break;
      }
      if ((active.get(platform) ?? 0) >= limit) saturated = true;
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
    notify(dueAt) {
      if (!running) return;
      if (dueAt <= options.clock.now()) void pump();
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
        await handle(run, batch);
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
