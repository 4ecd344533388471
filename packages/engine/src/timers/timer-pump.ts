import type { Clock, Logger, TimerRecord, TimerStore } from '@idrelay/core';
import { createWake, type Scheduler } from '../dispatch/scheduler.js';

/** Options of {@link createTimerPump}. */
export interface TimerPumpOptions {
  timers: TimerStore;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  /**
   * Handlers by timer kind; timers of other kinds are left for whoever owns them. A handler that moved its own
   * timer (scheduled the same id again) resolves to `'rescheduled'`: the timer is then left as it is now.
   */
  handlers: Readonly<Record<string, (timer: TimerRecord) => Promise<unknown>>>;
  leaseMs?: number;
  pollMs?: number;
}

/**
 * Fires durable timers (digest flushes, maintenance sweeps) when due: claims them from the store, runs the handler
 * for their kind and completes them with the claim's fencing token. A timer whose handler fails is left to its
 * lease and fired again; handlers must therefore be idempotent.
 *
 * @example
 * ```ts
 * const pump = createTimerPump({ timers: store.timers, clock, scheduler, logger, handlers: { digest: flush } });
 * pump.start();
 * ```
 */
export function createTimerPump(options: TimerPumpOptions) {
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 30_000;
  let running = false;
  let current: Promise<number> | undefined;
  const wake = createWake(options.scheduler, options.clock, () => void tick());

  async function runDue(): Promise<number> {
    let fired = 0;
    for (;;) {
      const due = await options.timers.claimDue(options.clock.now(), 100, leaseMs);
      const mine = due.filter((t) => options.handlers[t.kind]);
      const done: Array<{ id: string; claimToken: number }> = [];
      for (const timer of mine) {
        try {
          const outcome = await options.handlers[timer.kind]!(timer);
          if (outcome === 'rescheduled') fired++;
          else done.push({ id: timer.id, claimToken: timer.claimToken });
        } catch (error) {
          options.logger.error({ err: error, timer: timer.id }, 'timer handler failed; it fires again after its lease');
        }
      }
      if (done.length > 0) {
        // Fenced: a timer rescheduled or claimed again while its handler ran is left for its new owner.
        const { stale } = await options.timers.complete(done);
        if (stale.length > 0) options.logger.warn({ stale }, 'timers changed hands while firing; left in place');
      }
      fired += done.length;
      if (due.length < 100) return fired;
    }
  }

  async function tick(): Promise<void> {
    if (!running) return;
    try {
      current = runDue();
      await current;
    } catch (error) {
      options.logger.error({ err: error }, 'claiming timers failed');
    } finally {
      current = undefined;
    }
    if (!running) return;
    const next = await options.timers.nextDueAt().catch(() => undefined);
    const now = options.clock.now();
    wake.arm(next !== undefined && next > now ? Math.min(next, now + pollMs) : now + pollMs);
  }

  return {
    start(): void {
      running = true;
      void tick();
    },
    /** A timer was scheduled for `dueAt`: wake then if that is earlier than planned. */
    notify(dueAt: number): void {
      if (running) wake.arm(dueAt);
    },
    /** Fires every due timer now (for `drain()`); returns how many fired. */
    runDue,
    /** Waits for the timers being fired in the background (for `drain()`). */
    async idle(): Promise<void> {
      await current?.catch(() => undefined);
    },
    async stop(): Promise<void> {
      running = false;
      wake.clear();
      await current?.catch(() => undefined);
    },
  };
}
