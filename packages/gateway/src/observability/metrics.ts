import type { IdentityEvent, Store } from '@idrelay/core';
import { isEventType } from '@idrelay/core/events';
import type { Relay } from '@idrelay/engine';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryLog } from '../outbound/delivery-log.js';

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Where the metrics register; default a registry of their own (two gateways in one process never collide). */
  registry?: Registry;
  /** Read on each scrape for the queue-depth gauges (`outbox.counts()`, `outgoing.counts()`). */
  store?: Pick<Store, 'outbox' | 'outgoing'>;
  /** Node's process metrics (CPU, RSS, event-loop lag, GC) in the same registry. Default true. */
  processMetrics?: boolean;
  /** HTTP latency buckets, seconds. Default 1 ms to 5 s. */
  buckets?: readonly number[];
}

/** Prometheus metrics of a gateway: pass it to `createGateway({ metrics })`, which mounts `GET /metrics`. */
export interface Metrics {
  readonly registry: Registry;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** `Content-Type` of {@link Metrics.render}'s text. */
  readonly contentType: string;
  /** Times each request by method, route pattern (never the raw path) and status; counts device-response outcomes. */
  readonly middleware: MiddlewareHandler;
  /**
   * Counts what a relay does: subscribes to its listener (deliveries by transport and outcome) and returns the
   * relay with `ingest` counted (events ingested by type and outcome, planned deliveries by type). Hand the
   * returned relay to the code that ingests.
   */
  observeRelay(relay: Relay): Relay;
  /** Counts webhook attempts by endpoint and outcome from a delivery log. */
  observeWebhooks(log: DeliveryLog): void;
  /** Counts one device response: `accepted`, or the refusal's `ERR_ACTION_*` code. */
  recordResponse(outcome: string): void;
  /** Stops observing every relay and delivery log. */
  close(): void;
}

const CODE = /^ERR_[A-Z0-9_]{1,60}$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const RESPONSE_ROUTE = '/v1/actions';
const DEFAULT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A label from a code we did not make: bounded, so a hostile answer cannot blow up the series count. */
const codeLabel = (code: unknown) => (typeof code === 'string' && CODE.test(code) ? code : 'other');

/**
 * Prometheus metrics with prom-client: events ingested and planned by type, deliveries by transport and outcome,
 * device responses by outcome (accepted or each refusal code), webhook attempts, queue depth read from the store
 * on each scrape, and an HTTP request-duration histogram by route pattern and status.
 *
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 * @example
 * ```ts
 * const metrics = createMetrics({ store });
 * const gateway = createGateway({ relay: metrics.observeRelay(relay), store, metrics });
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const ingested = new Counter({
    name: 'idrelay_events_ingested_total',
    help: 'Identity events handed to the relay, by type and outcome (accepted, duplicate, conflict, rejected).',
    labelNames: ['type', 'outcome'] as const,
    registers,
  });
  const planned = new Counter({
    name: 'idrelay_events_planned_total',
    help: 'Accepted events planned, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  const plannedDeliveries = new Counter({
    name: 'idrelay_deliveries_planned_total',
    help: 'Deliveries planned (one push to one device), by event type.',
    labelNames: ['type'] as const,
    registers,
  });
  const deliveries = new Counter({
    name: 'idrelay_deliveries_total',
    help: 'Deliveries that ended, by transport and outcome (delivered, rejected, invalid-token, expired, dead-letter).',
    labelNames: ['transport', 'outcome'] as const,
    registers,
  });
  const responses = new Counter({
    name: 'idrelay_response_verifications_total',
    help: 'Signed device responses, by outcome: accepted or the refusal code.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const webhooks = new Counter({
    name: 'idrelay_webhook_attempts_total',
    help: 'Outbound webhook attempts, by endpoint and outcome (written, retry, refused, deferred).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'idrelay_http_request_duration_seconds',
    help: 'HTTP request duration, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [...(options.buckets ?? DEFAULT_BUCKETS)],
    registers,
  });
  const store = options.store;
  new Gauge({
    name: 'idrelay_queue_depth',
    help: 'Deliveries in the outbox waiting or in flight, by status (pending, claimed, failed), read on scrape.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      if (!store) return;
      const counts = await store.outbox.counts();
      for (const status of ['pending', 'claimed', 'failed'] as const) this.set({ status }, counts[status] ?? 0);
    },
  });
  new Gauge({
    name: 'idrelay_outgoing_depth',
    help: 'Outgoing entries (write-backs, webhooks) by status (pending, claimed, dead), read on scrape.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      if (!store) return;
      const counts = await store.outgoing.counts();
      for (const status of ['pending', 'claimed', 'dead'] as const) this.set({ status }, counts[status] ?? 0);
    },
  });

  const stops: Array<() => void> = [];

  function onEvent(event: IdentityEvent): void {
    if (event.type !== 'idrelay.notification.delivered' && event.type !== 'idrelay.notification.failed') return;
    const data = event.data as { platform?: unknown; outcome?: unknown };
    const transport = typeof data.platform === 'string' ? data.platform : 'unknown';
    const outcome =
      event.type === 'idrelay.notification.delivered'
        ? 'delivered'
        : typeof data.outcome === 'string' && /^[a-z-]{1,20}$/.test(data.outcome)
          ? data.outcome
          : 'failed';
    deliveries.inc({ transport, outcome });
  }

  // Only catalogue types become labels: a caller sending made-up types must not grow the series without bound.
  const typeOf = (input: unknown) => {
    const type = (input as { type?: unknown } | null)?.type;
    return isEventType(type) ? type : 'unknown';
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const matched = routePath(c, -1);
      const route = matched === '*' || matched === '/*' ? 'unmatched' : matched;
      const status = c.res.status;
      duration.observe(
        { method: METHODS.has(c.req.method) ? c.req.method : 'OTHER', route, status: String(status) },
        (performance.now() - started) / 1000,
      );
      if (route === RESPONSE_ROUTE && c.req.method === 'POST') {
        if (status < 300) responses.inc({ outcome: 'accepted' });
        else {
          const body = (await c.res
            .clone()
            .json()
            .catch(() => undefined)) as { code?: unknown } | undefined;
          responses.inc({ outcome: codeLabel(body?.code) });
        }
      }
    }
  };

  return {
    registry,
    render: () => registry.metrics(),
    contentType: registry.contentType,
    middleware,
    observeRelay(relay) {
      stops.push(relay.subscribe(onEvent));
      const ingest: Relay['ingest'] = async (input) => {
        const type = typeOf(input);
        try {
          const result = await relay.ingest(input);
          const outcome = result.conflict ? 'conflict' : result.duplicate ? 'duplicate' : 'accepted';
          ingested.inc({ type, outcome });
          if (outcome === 'accepted') {
            planned.inc({ type });
            if (result.deliveries > 0) plannedDeliveries.inc({ type }, result.deliveries);
          }
          return result;
        } catch (error) {
          ingested.inc({ type, outcome: 'rejected' });
          throw error;
        }
      };
      return new Proxy(relay, {
        get: (target, key, receiver) => (key === 'ingest' ? ingest : Reflect.get(target, key, receiver)),
      });
    },
    observeWebhooks(log) {
      stops.push(log.subscribe((attempt) => webhooks.inc({ endpoint: attempt.endpoint, outcome: attempt.outcome })));
    },
    recordResponse(outcome) {
      responses.inc({ outcome: outcome === 'accepted' ? outcome : codeLabel(outcome) });
    },
    close() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}
