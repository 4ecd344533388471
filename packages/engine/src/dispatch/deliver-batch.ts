import type {
  Clock,
  Delivery,
  DeliveryHandler,
  DeliveryOutcome,
  DeliveryResult,
  Logger,
  Platform,
  Store,
  Transport,
} from '@idrelay/core';
import { deviceAddressKey, isIdrelayError } from '@idrelay/core';
import { type RetryPolicy, retryDelay } from './backoff.js';
import type { FailureReceipt, Receipts } from './receipts.js';

/** What the delivery handler needs. */
export interface DeliverOptions {
  store: Store;
  transports: ReadonlyMap<Platform, Transport>;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  random: () => number;
  receipts: Receipts;
}

/**
 * Turns a retryable problem into a retry outcome, or a dead letter once attempts are used up. The attempt count
 * already includes the attempt in progress (the claim incremented it).
 */
export function retryOrDead(
  delivery: Delivery,
  error: { code: string; reason?: string },
  retryAfterMs: number | undefined,
  options: Pick<DeliverOptions, 'clock' | 'retry' | 'random'>,
): DeliveryOutcome {
  const at = options.clock.now();
  if (delivery.attempts >= (options.retry.maxAttempts ?? 8)) {
    return {
      id: delivery.id,
      status: 'dead',
      error: { code: error.code, reason: `gave up after ${delivery.attempts} attempts: ${error.reason ?? error.code}` },
      at,
    };
  }
  return {
    id: delivery.id,
    status: 'retry',
    dueAt: at + retryDelay(delivery.attempts, retryAfterMs, options.retry, options.random),
    error,
    at,
  };
}

/** Removes the device unless it re-registered with a new token since this delivery was planned. */
async function prune(store: Store, delivery: Delivery): Promise<void> {
  const device = await store.devices.get(delivery.deviceId);
  if (device && deviceAddressKey(device) === deviceAddressKey(delivery.target))
    await store.devices.remove(delivery.deviceId);
}

function groupKey(d: Delivery): string {
  const m = d.message;
  // Deliveries of one notification share a message per locale; title and body tell the locales apart.
  return `${d.notificationId}\0${m.title ?? ''}\0${m.subtitle ?? ''}\0${m.body ?? ''}`;
}

/**
 * The dispatch stage: groups a claimed batch by message, sends each group through the platform's transport, and
 * maps every result to an outbox outcome — `delivered`; `invalid-token` prunes the device; `retry-after` and thrown
 * exceptions back off (honouring Retry-After) until attempts run out; `rejected` fails for good.
 *
 * @example
 * ```ts
 * const handler = createDeliveryHandler({ store, transports, clock, logger, retry: {}, random: Math.random, receipts });
 * queue.start(handler, { concurrency: { apns: 4 } });
 * ```
 */
export function createDeliveryHandler(options: DeliverOptions): DeliveryHandler {
  return async (batch) => {
    const groups = new Map<string, Delivery[]>();
    for (const delivery of batch) {
      const key = groupKey(delivery);
      const group = groups.get(key);
      if (group) group.push(delivery);
      else groups.set(key, [delivery]);
    }
    const outcomes: DeliveryOutcome[] = [];
    const delivered: Array<{ delivery: Delivery; providerMessageId?: string }> = [];
    const failures: FailureReceipt[] = [];
    for (const group of groups.values()) {
      const first = group[0]!;
      const transport = options.transports.get(first.platform);
      if (!transport) {
        for (const d of group)
          outcomes.push(
            retryOrDead(d, { code: 'ERR_NO_TRANSPORT', reason: `no ${d.platform} transport` }, undefined, options),
          );
        continue;
      }
      let results: DeliveryResult[];
      try {
        results = await transport.send(
          first.message,
          group.map((d) => d.target),
        );
      } catch (error) {
        const code = isIdrelayError(error) ? error.code : 'ERR_TRANSPORT_NETWORK';
        const reason = error instanceof Error ? error.message : String(error);
        options.logger.warn({ err: error, transport: transport.name, deliveries: group.length }, 'transport threw');
        for (const d of group) outcomes.push(retryOrDead(d, { code, reason }, undefined, options));
        continue;
      }
      const byDevice = new Map(results.map((r) => [r.deviceId, r]));
      for (const d of group) {
        const result = byDevice.get(d.deviceId);
        const at = options.clock.now();
        if (!result) {
          outcomes.push(
            retryOrDead(
              d,
              { code: 'ERR_TRANSPORT_NETWORK', reason: 'the transport returned no result' },
              undefined,
              options,
            ),
          );
        } else if (result.status === 'delivered') {
          outcomes.push({
            id: d.id,
            status: 'delivered',
            at,
            ...(result.providerMessageId ? { providerMessageId: result.providerMessageId } : {}),
          });
          delivered.push(
            result.providerMessageId ? { delivery: d, providerMessageId: result.providerMessageId } : { delivery: d },
          );
        } else if (result.status === 'retry-after') {
          const outcome = retryOrDead(
            d,
            { code: result.code, ...(result.reason ? { reason: result.reason } : {}) },
            result.retryAfterMs,
            options,
          );
          outcomes.push(outcome);
          if (outcome.status === 'dead')
            failures.push({
              delivery: d,
              outcome: 'dead-letter',
              code: result.code,
              ...(outcome.error.reason ? { reason: outcome.error.reason } : {}),
            });
        } else {
          const error = { code: result.code, ...(result.reason ? { reason: result.reason } : {}) };
          outcomes.push({ id: d.id, status: 'failed', error, at });
          failures.push({
            delivery: d,
            outcome: result.status === 'invalid-token' ? 'invalid-token' : 'rejected',
            ...error,
          });
          if (result.status === 'invalid-token') {
            await prune(options.store, d).catch((error: unknown) => {
              options.logger.error({ err: error, deviceId: d.deviceId }, 'pruning a device failed');
            });
          }
        }
      }
    }
    for (const o of outcomes) {
      if (o.status === 'dead' && !failures.some((f) => f.delivery.id === o.id)) {
        const d = batch.find((b) => b.id === o.id)!;
        failures.push({
          delivery: d,
          outcome: 'dead-letter',
          code: o.error.code,
          ...(o.error.reason ? { reason: o.error.reason } : {}),
        });
      }
    }
    // The sends happened: a failing receipt or audit write must not turn them into retries (and duplicates).
    await options.receipts.delivered(delivered).catch((error: unknown) => {
      options.logger.error({ err: error, deliveries: delivered.length }, 'recording delivered receipts failed');
    });
    await options.receipts.failed(failures).catch((error: unknown) => {
      options.logger.error({ err: error, deliveries: failures.length }, 'recording failure receipts failed');
    });
    return outcomes;
  };
}
