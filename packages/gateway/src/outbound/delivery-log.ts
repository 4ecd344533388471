/** How one attempt to hand an event to a webhook endpoint ended. */
export type AttemptOutcome =
  /** 2xx: the endpoint took it. */
  | 'written'
  /** 408, 429, 5xx, a network error or a timeout: the outgoing log retries it. */
  | 'retry'
  /** Another 4xx, or a redirect that was not followed: dead-lettered. */
  | 'refused'
  /** Not sent: the endpoint's Retry-After had not passed yet. */
  | 'deferred';

/** One attempt, as the delivery log keeps it. Never the payload or the signature. */
export interface DeliveryAttempt {
  /** The endpoint's name (its write-back name). */
  endpoint: string;
  /** The event's CloudEvents `id`. */
  eventId: string;
  type: string;
  /** The `webhook-id` sent: the same on every attempt of one event. */
  webhookId: string;
  /** Which attempt of this event this process made, from 1. */
  attempt: number;
  outcome: AttemptOutcome;
  /** The HTTP status, or 0 when there was no answer. */
  status: number;
  /** Milliseconds from sending to the answer (0 when deferred). */
  durationMs: number;
  /** When the attempt started, ms since the epoch. */
  at: number;
  /** The error code of a failed attempt (`ERR_WEBHOOK_*`). */
  code?: string;
}

/** A bounded record of recent attempts per endpoint. */
export interface DeliveryLog {
  record(attempt: DeliveryAttempt): void;
  /** The endpoint's attempts still held, oldest first. */
  log(endpoint: string): DeliveryAttempt[];
  /** Endpoints with at least one attempt held. */
  endpoints(): string[];
  /** Called after each attempt is recorded (metrics, logs); returns an unsubscribe function. */
  subscribe(listener: (attempt: DeliveryAttempt) => void): () => void;
}

/**
 * A delivery log holding the last `perEndpoint` attempts of each endpoint in a ring: memory stays bounded however
 * long an endpoint fails. It lives in memory; the durable record of what was handed over is the outgoing log.
 *
 * @example
 * ```ts
 * const log = createDeliveryLog({ perEndpoint: 100 });
 * const writeBack = createWebhookWriteBack({ ...options, deliveryLog: log });
 * log.log('iam').at(-1)?.status; // 204
 * ```
 */
export function createDeliveryLog(options: { perEndpoint?: number } = {}): DeliveryLog {
  const size = options.perEndpoint ?? 200;
  if (!Number.isInteger(size) || size < 1 || size > 100_000) {
    throw new TypeError(`perEndpoint must be an integer from 1 to 100000, got ${String(size)}`);
  }
  const rings = new Map<string, { items: DeliveryAttempt[]; next: number }>();
  const listeners = new Set<(attempt: DeliveryAttempt) => void>();
  return {
    record(attempt) {
      let ring = rings.get(attempt.endpoint);
      if (!ring) {
        ring = { items: [], next: 0 };
        rings.set(attempt.endpoint, ring);
      }
      if (ring.items.length < size) ring.items.push(attempt);
      else ring.items[ring.next] = attempt;
      ring.next = (ring.next + 1) % size;
      for (const listener of listeners) {
        try {
          listener(attempt);
        } catch {
          // A failing observer must not fail the delivery it observes.
        }
      }
    },
    log(endpoint) {
      const ring = rings.get(endpoint);
      if (!ring) return [];
      if (ring.items.length < size) return ring.items.map((a) => ({ ...a }));
      return [...ring.items.slice(ring.next), ...ring.items.slice(0, ring.next)].map((a) => ({ ...a }));
    },
    endpoints: () => [...rings.keys()],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
