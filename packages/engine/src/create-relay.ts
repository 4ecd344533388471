import {
  type Clock,
  type Delivery,
  type DeliveryContext,
  type DeliveryOutcome,
  type Directory,
  type EventLimits,
  IdrelayError,
  type Logger,
  type Platform,
  type Queue,
  type RetentionCounts,
  type Store,
  silentLogger,
  systemClock,
  type Transport,
  type WriteBack,
} from '@idrelay/core';
import { createActionHandlers } from './actions/http-handlers.js';
import { ACTION_DEFAULTS, type ActionsOptions, createResponder, type Responder } from './actions/responder.js';
import type { ResponseHandler } from './actions/response.js';
import { createKeyCache } from './devices/device-key.js';
import type { VerifyBearer } from './devices/enrolment.js';
import { createRelayDevices, type RelayDevices } from './devices/relay-devices.js';
import { createDigests, DIGEST_TIMER } from './digest/digests.js';
import type { RetryPolicy } from './dispatch/backoff.js';
import { afterSettle, createDeliveryHandler, retryOrDead } from './dispatch/deliver-batch.js';
import { createOutboxQueue } from './dispatch/outbox-queue.js';
import { createReceipts } from './dispatch/receipts.js';
import { createTimeSlice, createWake, globalScheduler, type Scheduler } from './dispatch/scheduler.js';
import type { FlowDefinition, FlowFunction } from './flows/definition.js';
import { createFlowPush } from './flows/flow-push.js';
import { createFlowRuntime, FLOW_TIMERS } from './flows/flow-runtime.js';
import { createFlowRegistry } from './flows/registry.js';
import { createRelayFlows, type RelayFlows } from './flows/relay-flows.js';
import { ruleClaims } from './flows/rule-claims.js';
import { createIngest, type IngestResult } from './ingest/ingest-event.js';
import { createConsumerRegistry, FOLLOW_UP_CONSUMER } from './outgoing/consumers.js';
import { createListeners, type RelayListener } from './outgoing/listeners.js';
import { createOutgoingPump } from './outgoing/outgoing-pump.js';
import type { PlanContext } from './plan/fan-out.js';
import { createPlanner } from './plan/plan-event.js';
import { createZoneClock } from './preferences/quiet-hours.js';
import { createRelayPreferences, type RelayPreferences } from './preferences/relay-preferences.js';
import { createPreview, type RelayPreview } from './preview/preview-event.js';
import type { TemplateDefinition } from './render/template.js';
import { createTemplates, type TemplateRegistry } from './render/template-registry.js';
import { defineRules, type Rule } from './rules/rule.js';
import { createRetention, type RetentionPolicy } from './timers/retention.js';
import { createTimerPump } from './timers/timer-pump.js';
import {
  createVerifications,
  type RelayVerifications,
  VERIFICATION_TIMER,
  type VerificationOptions,
} from './verification/verifications.js';

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
  /**
   * App schemes allowed in deep links besides `https` (`['myapp']`), for the templates the relay compiles from
   * `templates`; a registry you pass has its own (`createTemplates(definitions, { linkSchemes })`). Links in other
   * schemes are left out of the push; `javascript`, `data` and `http` are refused here with `ERR_INVALID_ARGUMENT`.
   */
  linkSchemes?: readonly string[];
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
  /**
   * Deliveries of at least this priority take the express lane: claimed and sent at once even while bulk batches
   * fill every slot. Default 50 (verification requests use 100, security alerts 50).
   */
  expressPriority?: number;
  /** Bounds on ingested events (size, nesting). Default 256 KB and 32 levels. */
  limits?: EventLimits;
  /**
   * Durable consumers of what the relay tells the outside world (decisions, acknowledgements, receipts,
   * preference changes), each by the event types it lists. Entries are stored in the same transaction as the
   * change that caused them and handed over at least once, in order per subject, with retries and a dead letter.
   * Not closed by the relay.
   */
  writeBacks?: readonly WriteBack[];
  /** Retry policy of write-backs. Default 10 attempts, 1 s base, 15 min cap. */
  writeBackRetry?: RetryPolicy;
  /** How long finished records are kept; `false` keeps everything. See {@link RetentionPolicy} for defaults. */
  retention?: RetentionPolicy | false;
  /**
   * How often the running relay finishes events whose planning was cut short (a store error mid fan-out), ms.
   * Default 60 s; events younger than a quarter of it are left alone (they may still be planning).
   */
  sweepMs?: number;
  /**
   * Approval flows: versioned definitions (see `defineFlow()` and the shipped ones, e.g. `accessApprovalFlow()`)
   * and the functions their code steps call by name. Keep old versions listed while flows that started on them run.
   */
  flows?: { definitions?: readonly FlowDefinition[]; functions?: Readonly<Record<string, FlowFunction>> };
  /**
   * The response protocol (docs/protocol.md): the URLs proofs are bound to, clock skew, number-matching attempts,
   * the lifetime of tokens whose delivery has no expiry.
   */
  actions?: ActionsOptions;
  /**
   * More appliers of verified device responses, by flow kind (`'*'` for tokens without a flow). The relay's own
   * flows and login verifications are always registered; these are asked first.
   */
  responseHandlers?: readonly ResponseHandler[];
  /** Checks the bearer token of a device enrolment and names its user; without it only enrolment codes work. */
  verifyBearer?: VerifyBearer;
  /** Login verification: code digits, TTL, push limits. See {@link VerificationOptions}. */
  verification?: VerificationOptions;
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
  /** Approval flows: start, read, decide; device answers reach them through `flows.handler`. */
  flows: RelayFlows;
  /**
   * Verifies and applies one device response (docs/protocol.md §6): token, device signature, freshness, single
   * use, decision, number-matching code, then the flow transition. Refusals throw an `IdrelayError` with an
   * `ERR_ACTION_*` code (or the handler's), having changed nothing but the attempt count of a wrong code.
   */
  respond: Responder['respond'];
  /** What the proven device may show about the request behind its push (docs/protocol.md §5). */
  details: Responder['details'];
  /** Web-standard `(Request) => Promise<Response>` handlers of the two device endpoints, answering problem+json. */
  actionHandlers: ReturnType<typeof createActionHandlers>;
  /** Login verification with number matching (push MFA). */
  verifications: RelayVerifications;
  /**
   * Listens to emitted events (receipts, preference changes) in memory; returns an unsubscribe function. A
   * listener misses whatever happens while it is not subscribed or crashed: use `writeBacks` for what must arrive.
   */
  subscribe(listener: RelayListener): () => void;
  /** Claims and sends one batch per platform now; returns how many deliveries were handled. For tests and scripts. */
  dispatchOnce(): Promise<number>;
  /** Fires due timers, dispatches and hands out outgoing entries until nothing is due now. For tests and scripts. */
  drain(): Promise<{ dispatched: number; timers: number; outgoing: number }>;
  /** Runs the retention sweep now (it also runs on its own interval); resolves with what it removed. */
  prune(): Promise<RetentionCounts>;
  /** Stops dispatching, waits for ingests and batches in flight; closes nothing it was given. */
  close(): Promise<void>;
}

/**
 * Creates a relay: ingest → rules → audience → preferences → render → outbox → dispatch → receipts. Only wiring
 * lives here; each stage is its own module.
 *
 * @throws {IdrelayError} `ERR_RULE_INVALID` for a malformed rule, `ERR_TEMPLATE_MISSING` when a rule names a
 * template that does not exist, `ERR_TEMPLATE_UNSAFE` from template definitions, `ERR_INVALID_ARGUMENT` for unsafe
 * `linkSchemes` or `linkSchemes` beside a registry.
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
  const templates: TemplateRegistry =
    options.templates && 'get' in options.templates
      ? options.templates
      : createTemplates(options.templates ?? [], options.linkSchemes ? { linkSchemes: options.linkSchemes } : {});
  if (options.linkSchemes && options.templates && 'get' in options.templates) {
    throw new IdrelayError(
      'ERR_INVALID_ARGUMENT',
      'linkSchemes applies to templates the relay compiles; pass it to createTemplates() for your registry',
      { details: { linkSchemes: options.linkSchemes } },
    );
  }
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
  const now = () => clock.now();
  const retry = options.retry ?? {};
  const random = options.random ?? Math.random;
  const batchSize = options.batchSize ?? 500;
  const sweepMs = options.sweepMs ?? 60_000;

  const context: PlanContext = {
    devices: store.devices,
    preferences: store.preferences,
    templates,
    zones: createZoneClock(),
    platforms,
    now,
    ownSource: source,
    ...(options.preferencesAttribute ? { preferencesAttribute: options.preferencesAttribute } : {}),
  };
  // One slice for the whole relay: bulk planning, dispatch and write-backs move to a new turn every busy millisecond.
  const slice = createTimeSlice();
  const listeners = createListeners(logger);
  // Follow-up events (a reported denial and the risk it raises) ride the outgoing log to the relay's own ingest.
  const followUp: WriteBack = {
    name: FOLLOW_UP_CONSUMER,
    types: [],
    async write(event) {
      await ingest.ingest(event);
      return { status: 'written' };
    },
  };
  const consumers = createConsumerRegistry(options.writeBacks ?? [], [followUp]);
  const outgoingPump = createOutgoingPump({
    outgoing: store.outgoing,
    consumers,
    audit: store.audit,
    clock,
    scheduler,
    logger,
    random,
    slice,
    ...(options.writeBackRetry ? { retry: options.writeBackRetry } : {}),
  });
  const receipts = createReceipts({ audit: store.audit, listeners, consumers, source, now });
  const outboxQueue = createOutboxQueue({
    outbox: store.outbox,
    clock,
    scheduler,
    logger,
    slice,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    ...(options.expressPriority !== undefined ? { expressPriority: options.expressPriority } : {}),
  });
  const queue = options.queue ?? outboxQueue;
  const deliver = createDeliveryHandler({
    devices: store.devices,
    transports,
    clock,
    logger,
    retry,
    random,
    receipts,
    actionTokens: {
      store: store.actionTokens,
      ttlMs: options.actions?.tokenTtlMs ?? ACTION_DEFAULTS.tokenTtlMs,
    },
  });
  let staleOutcomes = 0;

  /** Sends a claimed batch, settles it under its claim token, then prunes and reports what was applied. */
  async function processBatch(batch: readonly Delivery[], ctx: DeliveryContext): Promise<DeliveryOutcome[]> {
    let handled: Awaited<ReturnType<typeof deliver>>;
    try {
      handled = await deliver(batch, ctx);
    } catch (error) {
      logger.error({ err: error, deliveries: batch.length }, 'delivering a batch failed; retrying it');
      const error_ = { code: 'ERR_TRANSPORT_NETWORK', reason: String((error as Error)?.message ?? error) };
      handled = {
        outcomes: batch.map((d) => retryOrDead(d, error_, undefined, { clock, retry, random }).outcome),
        receipts: new Map(),
      };
    }
    // Bulk batches settle in a turn of their own, so an express batch or an ingest never queues behind them.
    if (ctx.priority !== 'high') await slice();
    const { stale } = await store.outbox.settle(handled.outcomes);
    if (stale.length > 0) {
      // Fencing at work: another worker owns these rows now (our lease ran out); its outcome stands.
      staleOutcomes += stale.length;
      logger.warn(
        { stale: stale.length, total: staleOutcomes },
        'outcomes arrived after their claim ended; not applied',
      );
    }
    if (handled.outcomes.some((o) => o.emit !== undefined)) outgoingPump.notify(now());
    await afterSettle({ devices: store.devices, logger, receipts }, handled, new Set(stale));
    return handled.outcomes;
  }

  const timerPump = createTimerPump({
    timers: store.timers,
    clock,
    scheduler,
    logger,
    handlers: {
      [DIGEST_TIMER]: (timer) => digests.flush(timer),
      [VERIFICATION_TIMER]: (timer) => verification.onTimer(timer),
      ...Object.fromEntries(FLOW_TIMERS.map((kind) => [kind, (timer) => flowRuntime.onTimer(timer)])),
    },
  });
  const flowRegistry = createFlowRegistry(options.flows?.definitions ?? [], options.flows?.functions ?? {});
  const flowRuntime = createFlowRuntime({
    flows: store.flows,
    timers: store.timers,
    audit: store.audit,
    directory,
    registry: flowRegistry,
    push: createFlowPush({
      context,
      outbox: store.outbox,
      actionTokens: store.actionTokens,
      notify: (dueAt, priority) => queue.notify(dueAt, priority),
    }),
    consumers,
    listeners,
    clock,
    logger,
    source,
    onTimer: (at) => timerPump.notify(at),
    onEmitted: (at) => outgoingPump.notify(at),
  });
  const flows = createRelayFlows({
    flows: store.flows,
    audit: store.audit,
    registry: flowRegistry,
    runtime: flowRuntime,
    clock,
    logger,
  });
  const notify = (dueAt: number, priority: number) => queue.notify(dueAt, priority);
  const digests = createDigests({
    context,
    digests: store.digests,
    timers: store.timers,
    outbox: store.outbox,
    directory,
    notify,
    onTimer: (at) => timerPump.notify(at),
  });
  const planner = createPlanner({
    context,
    outbox: store.outbox,
    audit: store.audit,
    directory,
    rules,
    pageSize: options.pageSize ?? 500,
    logger,
    notify,
    slice,
    collectDigest: digests.collect,
    skipRule: ruleClaims(flowRegistry),
  });
  const ingest = createIngest({
    events: store.events,
    audit: store.audit,
    preferences: store.preferences,
    planner,
    clock,
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const verification = createVerifications({
    store,
    directory,
    clock,
    logger,
    source,
    consumers,
    ingest: (event) => guard(() => ingest.ingest(event)),
    onTimer: (at) => timerPump.notify(at),
    onEmitted: (at) => outgoingPump.notify(at),
    options: options.verification ?? {},
  });
  const responseHandlers = [...(options.responseHandlers ?? []), verification.handler, flows.handler];
  const responder = createResponder({
    ...options.actions,
    store,
    now,
    logger,
    keyFor: createKeyCache(),
    handlers: () => responseHandlers,
  });
  const retention =
    options.retention === false
      ? undefined
      : createRetention({
          retention: store.retention,
          audit: store.audit,
          clock,
          scheduler,
          logger,
          slice,
          policy: options.retention ?? {},
        });
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  let started = false;
  let sweeping: Promise<unknown> | undefined;
  // Finishes events whose planning a store error cut short, while the relay runs (not only at the next start).
  const sweep = createWake(scheduler, clock, () => {
    if (closed) return;
    sweeping = ingest
      .replanPending(now() - Math.floor(sweepMs / 4))
      .then(({ replanned }) => {
        if (replanned > 0) logger.info({ replanned }, 'finished events whose planning had been cut short');
      })
      .catch((error: unknown) => logger.error({ err: error }, 'the re-planning sweep failed'))
      .finally(() => {
        sweeping = undefined;
        if (!closed) sweep.arm(now() + sweepMs);
      });
  });

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
        const { replanned } = await ingest.replanPending();
        queue.start(processBatch, { concurrency, batchSize });
        timerPump.start();
        outgoingPump.start();
        retention?.start();
        sweep.arm(now() + sweepMs);
        return { replanned };
      }),
    ingest: (input) => {
      slice.urgent();
      return guard(async () => {
        const result = await ingest.ingest(input);
        // A duplicate starts nothing new (a flow starts once per kind and key) but finishes a start a crash cut short.
        if (!result.conflict && flowRegistry.hasTriggers()) {
          const stored = await store.events.get(result.eventKey);
          if (stored) await flows.startFrom(stored.event);
        }
        return result;
      });
    },
    preview: createPreview({
      context,
      events: store.events,
      directory,
      rules,
      skipRule: ruleClaims(flowRegistry),
      ...(options.limits ? { limits: options.limits } : {}),
    }),
    devices: createRelayDevices({
      store,
      clock,
      maxDevicesPerUser: options.maxDevicesPerUser ?? 10,
      ...(options.verifyBearer ? { verifyBearer: options.verifyBearer } : {}),
    }),
    preferences: createRelayPreferences({
      preferences: store.preferences,
      audit: store.audit,
      clock,
      source,
      listeners,
      consumers,
      onEmitted: (at) => outgoingPump.notify(at),
    }),
    flows,
    respond: (request) => guard(() => responder.respond(request)),
    details: (request) => guard(() => responder.details(request)),
    actionHandlers: createActionHandlers({
      respond: (request) => guard(() => responder.respond(request)),
      details: (request) => guard(() => responder.details(request)),
    }),
    verifications: {
      start: (input) => guard(() => verification.verifications.start(input)),
      get: (id) => verification.verifications.get(id),
    },
    subscribe: listeners.subscribe,
    dispatchOnce: () => guard(() => outboxQueue.runOnce(processBatch, { platforms: [...platforms], batchSize })),
    drain: () =>
      guard(async () => {
        let dispatched = 0;
        let timers = 0;
        let outgoing = 0;
        await outboxQueue.idle();
        await ingest.idle();
        // Work the running relay started in the background (a timer firing, a hand-off) finishes first.
        await timerPump.idle();
        await outgoingPump.idle();
        for (;;) {
          const fired = await timerPump.runDue();
          const sent = await outboxQueue.runOnce(processBatch, { platforms: [...platforms], batchSize });
          const handedOut = await outgoingPump.runOnce();
          timers += fired;
          dispatched += sent;
          outgoing += handedOut;
          if (fired === 0 && sent === 0 && handedOut === 0) return { dispatched, timers, outgoing };
        }
      }),
    prune: () =>
      guard(async () => {
        const sweeper =
          retention ??
          createRetention({ retention: store.retention, audit: store.audit, clock, scheduler, logger, policy: {} });
        return sweeper.runOnce();
      }),
    async close() {
      if (closed) return;
      closed = true;
      sweep.clear();
      await Promise.allSettled([...inFlight]);
      await sweeping;
      await Promise.all([queue.stop(), timerPump.stop(), outgoingPump.stop(), retention?.stop()]);
    },
  };
}
