import {
  type Clock,
  type Directory,
  IdrelayError,
  type Logger,
  type Platform,
  type Queue,
  type Store,
  silentLogger,
  systemClock,
  type Transport,
} from '@idrelay/core';
import { createRelayDevices, type RelayDevices } from './devices/relay-devices.js';
import { createDigests, DIGEST_TIMER } from './digest/digests.js';
import type { RetryPolicy } from './dispatch/backoff.js';
import { createDeliveryHandler, retryOrDead } from './dispatch/deliver-batch.js';
import { createOutboxQueue } from './dispatch/outbox-queue.js';
import { createReceipts, type RelayListener } from './dispatch/receipts.js';
import { globalScheduler, type Scheduler } from './dispatch/scheduler.js';
import { createTimerPump } from './dispatch/timer-pump.js';
import { createIngest, type IngestResult, replanPending } from './ingest/ingest-event.js';
import { createPlanner } from './outbox/plan-event.js';
import { createZoneClock } from './preferences/quiet-hours.js';
import { createRelayPreferences, type RelayPreferences } from './preferences/relay-preferences.js';
import { createPreview, type RelayPreview } from './preview/preview-event.js';
import type { TemplateDefinition } from './render/template.js';
import { createTemplates, type TemplateRegistry } from './render/template-registry.js';
import { defineRules, type Rule } from './rules/rule.js';

/**
 * Options of {@link createRelay}.
 *
 * @example
 * ```ts
 * const options: RelayOptions = { store, directory, transports: [fcm], rules: defaultRules({ securityGroup: 'soc', adminGroup: 'ops' }) };
 * ```
 */
export interface RelayOptions {
  /** The database behind every port (`createSqliteStore()`, `createPostgresStore()`); the relay does not close it. */
  store: Store;
  /** A scale-out queue (BullMQ); default the in-process queue on the store's outbox. */
  queue?: Queue;
  /** One transport per platform; devices of other platforms are skipped at planning. Not closed by the relay. */
  transports: readonly Transport[];
  /** Where audiences resolve; not closed by the relay. */
  directory: Directory;
  /** Evaluated in order; see `defaultRules()`. */
  rules: readonly Rule[];
  /** A registry from `createTemplates()`, or definitions added over the built-in English templates. */
  templates?: TemplateRegistry | readonly TemplateDefinition[];
  clock?: Clock;
  logger?: Logger;
  /** Timers; default the global ones (so `vi.useFakeTimers()` drives the relay). */
  scheduler?: Scheduler;
  /** For backoff jitter; default `Math.random`. */
  random?: () => number;
  retry?: RetryPolicy;
  /** Batches in flight per transport. Default 4. */
  concurrency?: number | Partial<Record<Platform, number>>;
  /** Deliveries per claimed batch. Default 500. */
  batchSize?: number;
  /** Users per audience page. Default 500. */
  pageSize?: number;
  /** Device cap per user (`ERR_DEVICE_LIMIT`). Default 10. */
  maxDevicesPerUser?: number;
  /** Directory attribute holding encoded preferences, read when the store has none for a user. */
  preferencesAttribute?: string;
  /** CloudEvents `source` of the events the relay emits. Default `/idrelay/relay`. */
  source?: string;
  /** Claim lease, ms. Default 60 s. */
  leaseMs?: number;
  /** Longest idle sleep of the dispatcher, ms. Default 5 s. */
  pollMs?: number;
}

/**
 * The relay: ingest identity events, deliver pushes, explain decisions.
 *
 * @example
 * ```ts
 * await relay.start();
 * const { deliveries } = await relay.ingest(event);
 * await relay.close();
 * ```
 */
export interface Relay {
  /** Re-plans events a previous process left unplanned, then starts dispatching and firing timers. */
  start(): Promise<{ replanned: number }>;
  /**
   * Validates, dedupes, persists, audits and plans an event; resolves with what was planned.
   *
   * @throws {IdrelayError} `ERR_EVENT_INVALID` (after recording the input as rejected), `ERR_RELAY_CLOSED`.
   */
  ingest(input: unknown): Promise<IngestResult>;
  /** Explains what an event would cause, per recipient and device, without sending or writing. */
  preview: RelayPreview;
  devices: RelayDevices;
  preferences: RelayPreferences;
  /** Listens to emitted events (receipts, preference changes); returns an unsubscribe function. */
  subscribe(listener: RelayListener): () => void;
  /** Claims and sends one batch per platform now; returns how many deliveries were handled. For tests and scripts. */
  dispatchOnce(): Promise<number>;
  /** Fires due timers and dispatches until nothing is due now. For tests and scripts. */
  drain(): Promise<{ dispatched: number; timers: number }>;
  /** Stops dispatching, waits for ingests and batches in flight; closes nothing it was given. */
  close(): Promise<void>;
}

/**
 * Creates a relay: ingest → rules → audience → preferences → render → outbox → dispatch → receipts. Only wiring
 * lives here; each stage is its own module.
 *
 * @throws {IdrelayError} `ERR_RULE_INVALID` for a malformed rule, `ERR_TEMPLATE_MISSING` when a rule names a
 * template that does not exist, `ERR_TEMPLATE_UNSAFE` from template definitions.
 * @example
 * ```ts
 * const relay = createRelay({
 *   store: createSqliteStore({ path: '.idrelay/relay.db' }),
 *   transports: [apns, fcm, webpush],
 *   directory,
 *   rules: defaultRules({ securityGroup: 'g-soc', adminGroup: 'g-iam-admins' }),
 * });
 * await relay.start();
 * await relay.ingest(event);
 * ```
 */
export function createRelay(options: RelayOptions): Relay {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const scheduler = options.scheduler ?? globalScheduler;
  const source = options.source ?? '/idrelay/relay';
  const rules = defineRules(options.rules);
  const templates =
    options.templates && 'get' in options.templates ? options.templates : createTemplates(options.templates ?? []);
  for (const rule of rules) {
    const key = 'notify' in rule ? rule.notify.template : undefined;
    if (key && !templates.has(key)) {
      throw new IdrelayError(
        'ERR_TEMPLATE_MISSING',
        `Rule "${rule.id}" names template "${key}", which does not exist`,
        {
          details: { ruleId: rule.id, key },
        },
      );
    }
  }
  const transports = new Map<Platform, Transport>(options.transports.map((t) => [t.platform, t]));
  const platforms = new Set(transports.keys());
  const { store, directory } = options;
  const zones = createZoneClock();
  const now = () => clock.now();
  const attribute = options.preferencesAttribute ? { preferencesAttribute: options.preferencesAttribute } : {};
  const retry = options.retry ?? {};
  const random = options.random ?? Math.random;
  const batchSize = options.batchSize ?? 500;

  const receipts = createReceipts({ store, source, logger, now });
  const outboxQueue = createOutboxQueue({
    outbox: store.outbox,
    clock,
    scheduler,
    logger,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    onHandlerError: (batch, error) =>
      batch.map((d) =>
        retryOrDead(
          d,
          { code: 'ERR_TRANSPORT_NETWORK', reason: String((error as Error)?.message ?? error) },
          undefined,
          { clock, retry, random },
        ),
      ),
  });
  const queue = options.queue ?? outboxQueue;
  const handler = createDeliveryHandler({ store, transports, clock, logger, retry, random, receipts });
  const timerPump = createTimerPump({
    timers: store.timers,
    clock,
    scheduler,
    logger,
    handlers: { [DIGEST_TIMER]: (timer) => digests.flush(timer) },
  });
  const notify = (dueAt: number) => queue.notify(dueAt);
  const digests = createDigests({
    store,
    directory,
    templates,
    zones,
    platforms,
    now,
    notify,
    onTimer: (at) => timerPump.notify(at),
    ...attribute,
  });
  const planner = createPlanner({
    store,
    directory,
    rules,
    templates,
    zones,
    platforms,
    now,
    pageSize: options.pageSize ?? 500,
    notify,
    collectDigest: digests.collect,
    ...attribute,
  });
  const ingestEvent = createIngest({ store, planner, clock, logger });
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  let started = false;

  function guard<T>(work: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new IdrelayError('ERR_RELAY_CLOSED', 'The relay was closed'));
    const promise = work();
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }
  const concurrency = Object.fromEntries(
    [...platforms].map((p) => [
      p,
      typeof options.concurrency === 'number' ? options.concurrency : (options.concurrency?.[p] ?? 4),
    ]),
  );

  return {
    start: () =>
      guard(async () => {
        if (started) return { replanned: 0 };
        started = true;
        const result = await replanPending(store, planner, clock, logger);
        queue.start(handler, { concurrency, batchSize });
        timerPump.start();
        return result;
      }),
    ingest: (input) => guard(() => ingestEvent(input)),
    preview: createPreview({ store, directory, rules, templates, zones, platforms, now, ...attribute }),
    devices: createRelayDevices({ store, clock, maxDevicesPerUser: options.maxDevicesPerUser ?? 10 }),
    preferences: createRelayPreferences({ store, clock, source, emit: receipts.emit }),
    subscribe: receipts.subscribe,
    dispatchOnce: () => guard(() => outboxQueue.runOnce(handler, { platforms: [...platforms], batchSize })),
    drain: () =>
      guard(async () => {
        let dispatched = 0;
        let timers = 0;
        await outboxQueue.idle();
        for (;;) {
          const fired = await timerPump.runDue();
          const sent = await outboxQueue.runOnce(handler, { platforms: [...platforms], batchSize });
          timers += fired;
          dispatched += sent;
          if (fired === 0 && sent === 0) return { dispatched, timers };
        }
      }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      await Promise.all([queue.stop(), timerPump.stop()]);
    },
  };
}
