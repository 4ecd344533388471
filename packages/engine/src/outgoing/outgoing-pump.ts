import type {
  AuditStore,
  Clock,
  Logger,
  OutgoingEntry,
  OutgoingOutcome,
  OutgoingStore,
  WriteBack,
  WriteBackResult,
} from '@idrelay/core';
import { type RetryPolicy, retryDelay } from '../dispatch/backoff.js';
import { createWake, type Scheduler } from '../dispatch/scheduler.js';
import type { ConsumerRegistry } from './consumers.js';

/** Options of {@link createOutgoingPump}. */
export interface OutgoingPumpOptions {
  outgoing: OutgoingStore;
  consumers: ConsumerRegistry;
  audit: Pick<AuditStore, 'append'>;
  clock: Clock;
  scheduler: Scheduler;
  logger: Logger;
  random: () => number;
  /** Attempts before an entry is dead-lettered (kept for an operator to redrive). Default 10. */
  retry?: RetryPolicy;
  /** How long one consumer call may take before it is abandoned and retried, ms. Default 30 s. */
  timeoutMs?: number;
  /** Entries claimed per consumer per round. Default 50. */
  batchSize?: number;
  /** Longest sleep between polls (entries other processes appended), ms. Default 5 s. */
  pollMs?: number;
  /** Yields the event loop between rounds once the pump has run long. */
  slice?: () => Promise<void>;
}

const noSlice = async () => {};
const failure = (code: string, reason: string) => ({ code, reason: reason.slice(0, 1_000) });

/**
 * Hands the outgoing log to its consumers: claims each consumer's due entries (at most one per order key, so a
 * subject's entries arrive in order), calls `write` with a deadline, and settles the result — `written` and
 * `skipped` are done; a retryable failure, a throw or a timeout backs off (honouring the policy) until the
 * attempts run out and the entry is dead-lettered and audited; a final failure is dead-lettered at once. Claims
 * are fenced: a call that outlived its lease cannot settle what another process claimed since. Delivery is at
 * least once, so consumers dedupe by `event.id`.
 *
 * @example
 * ```ts
 * const pump = createOutgoingPump({ outgoing: store.outgoing, consumers, audit: store.audit, clock, scheduler, logger, random });
 * pump.start();
 * ```
 */
export function createOutgoingPump(options: OutgoingPumpOptions) {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const leaseMs = timeoutMs * 2;
  const pollMs = options.pollMs ?? 5_000;
  const batchSize = options.batchSize ?? 50;
  const policy: RetryPolicy = { maxAttempts: 10, ...options.retry };
  let running = false;
  let current: Promise<number> | undefined;
  let again = false;
  const wake = createWake(options.scheduler, options.clock, () => void tick());

  async function call(consumer: WriteBack, entry: OutgoingEntry): Promise<OutgoingOutcome> {
    const controller = new AbortController();
    const timer = options.scheduler.setTimeout(() => controller.abort(new Error('timed out')), timeoutMs);
    let result: WriteBackResult;
    try {
      // A consumer that ignores the signal is still abandoned at the deadline, so one hung call cannot hold the pump.
      result = await Promise.race([
        consumer.write(entry.event, { signal: controller.signal }),
        new Promise<never>((_, reject) =>
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
        ),
      ]);
    } catch (error) {
      const reason = controller.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : error instanceof Error
          ? error.message
          : String(error);
      result = { status: 'failed', code: 'ERR_CONSUMER_FAILED', reason, retryable: true };
    } finally {
      options.scheduler.clearTimeout(timer);
    }
    const at = options.clock.now();
    const base = { id: entry.id, claimToken: entry.claimToken!, at };
    if (result.status !== 'failed') return { ...base, status: 'delivered' };
    const error = failure(result.code, result.reason);
    if (!result.retryable || entry.attempts >= (policy.maxAttempts ?? 10)) return { ...base, status: 'dead', error };
    return {
      ...base,
      status: 'retry',
      dueAt: at + retryDelay(entry.attempts, undefined, policy, options.random),
      error,
    };
  }

  async function runConsumer(name: string, consumer: WriteBack): Promise<number> {
    const entries = await options.outgoing.claim({
      consumer: name,
      limit: batchSize,
      now: options.clock.now(),
      leaseMs,
    });
    if (entries.length === 0) return 0;
    const outcomes = await Promise.all(entries.map((entry) => call(consumer, entry)));
    const { stale } = await options.outgoing.settle(outcomes);
    if (stale.length > 0) {
      options.logger.warn(
        { consumer: name, stale: stale.length },
        'outgoing outcomes arrived after their lease; not applied',
      );
    }
    const dead = outcomes.filter((o) => o.status === 'dead' && !stale.includes(o.id));
    if (dead.length > 0) {
      const byId = new Map(entries.map((e) => [e.id, e]));
      await options.audit.append(
        dead.map((o) => ({
          at: o.at,
          action: 'outgoing.dead-lettered',
          actor: 'system',
          target: name,
          details: {
            entry: o.id,
            eventId: byId.get(o.id)?.event.id,
            type: byId.get(o.id)?.event.type,
            ...(o.status === 'dead' ? { code: o.error.code, reason: o.error.reason } : {}),
          },
        })),
      );
      options.logger.error({ consumer: name, dead: dead.length }, 'outgoing entries dead-lettered');
    }
    return entries.length;
  }

  /** One round over every consumer; resolves with how many entries were handled. */
  async function runOnce(): Promise<number> {
    let handled = 0;
    for (const [name, consumer] of options.consumers.all) {
      try {
        handled += await runConsumer(name, consumer);
      } catch (error) {
        // A store error for one consumer must not stop the others; its entries stay and are claimed again.
        options.logger.error({ err: error, consumer: name }, 'handing outgoing entries to a consumer failed');
      }
    }
    return handled;
  }

  async function tick(): Promise<void> {
    if (!running) return;
    if (current) {
      again = true;
      return;
    }
    try {
      do {
        again = false;
        current = runOnce();
        const handled = await current;
        if (handled > 0) again = true;
        if (again) await (options.slice ?? noSlice)();
      } while (again && running);
    } finally {
      current = undefined;
    }
    if (!running) return;
    const next = await options.outgoing.nextDueAt().catch(() => undefined);
    const now = options.clock.now();
    wake.arm(next !== undefined && next > now ? Math.min(next, now + pollMs) : now + pollMs);
  }

  return {
    /** Waits for the hand-off running in the background (for `drain()`). */
    async idle(): Promise<void> {
      await current?.catch(() => undefined);
    },
    start(): void {
      if (options.consumers.all.size === 0) return;
      running = true;
      void tick();
    },
    /** Entries were appended, due at `at`. */
    notify(at: number): void {
      if (!running) return;
      if (at <= options.clock.now()) void tick();
      else wake.arm(at);
    },
    /** One round now (for `drain()`); resolves with how many entries were handled. */
    runOnce,
    async stop(): Promise<void> {
      running = false;
      wake.clear();
      await current?.catch(() => undefined);
    },
  };
}

/** The pump from {@link createOutgoingPump}. */
export type OutgoingPump = ReturnType<typeof createOutgoingPump>;
