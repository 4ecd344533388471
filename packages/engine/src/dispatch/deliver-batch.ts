import type {
  ActionTokenRecord,
  ActionTokenStore,
  Clock,
  Delivery,
  DeliveryContext,
  DeliveryOutcome,
  DeliveryResult,
  DeviceStore,
  Logger,
  Platform,
  PushRequest,
  Transport,
} from '@idrelay/core';
import { deviceAddressKey, isIdrelayError } from '@idrelay/core';
import { newSecret, tokenHash } from '../actions/token-hash.js';
import { type RetryPolicy, retryDelay } from './backoff.js';
import type { Receipt, Receipts } from './receipts.js';

/** What the delivery handler needs. */
export interface DeliverOptions {
  devices: Pick<DeviceStore, 'get' | 'remove'>;
  transports: ReadonlyMap<Platform, Transport>;
  clock: Clock;
  logger: Logger;
  retry: RetryPolicy;
  random: () => number;
  receipts: Receipts;
  /**
   * Where action tokens of actionable pushes are stored (their hashes), and how long a token lives when its
   * delivery has no expiry. Without it, pushes go out without tokens.
   */
  actionTokens?: { store: Pick<ActionTokenStore, 'putMany'>; ttlMs: number };
}

/**
 * Mints one action token per delivery of an actionable message (one with `actions`), bound to the notification,
 * recipient, device, the message's action ids, its flow (`data.flowId`) and an expiry (the delivery's, else
 * `ttlMs`). Only the hashes are stored, in one write; the raw token travels only in the push, beside the
 * notification id (`nid`, `tok`: docs/protocol.md §3). Each attempt mints afresh, so a token never sits in the
 * store in the clear, not even for a retry.
 */
async function mintTokens(
  deliveries: readonly Delivery[],
  options: NonNullable<DeliverOptions['actionTokens']>,
  now: number,
): Promise<Map<string, string>> {
  const minted = new Map<string, string>();
  const records: ActionTokenRecord[] = [];
  for (const d of deliveries) {
    const actions = d.message.actions;
    if (actions === undefined || actions.length === 0) continue;
    const token = newSecret();
    // A login verification's flow id is its verification id (the built-in template carries it as verificationId).
    const flowId = d.message.data?.flowId ?? d.message.data?.verificationId;
    records.push({
      tokenHash: tokenHash(token),
      notificationId: d.notificationId,
      userId: d.userId,
      deviceId: d.deviceId,
      actions: actions.map((a) => a.id),
      ...(flowId !== undefined ? { flowId } : {}),
      expiresAt: d.expiresAt ?? now + options.ttlMs,
      createdAt: now,
    });
    minted.set(d.id, token);
  }
  if (records.length > 0) await options.store.putMany(records);
  return minted;
}

/** A handled batch: its outcomes, and the receipts to report once they are settled. */
export interface HandledBatch {
  outcomes: DeliveryOutcome[];
  /** By delivery id. */
  receipts: Map<string, Receipt>;
}

type Failure = { code: string; reason?: string };

/**
 * Turns a retryable problem into a retry outcome — or a dead letter once attempts are used up, or `expired` when
 * the next attempt would come after the delivery's expiry. The attempt count already includes the attempt in
 * progress (the claim incremented it).
 */
export function retryOrDead(
  delivery: Delivery,
  error: Failure,
  retryAfterMs: number | undefined,
  options: Pick<DeliverOptions, 'clock' | 'retry' | 'random'>,
): { outcome: DeliveryOutcome; receipt?: Omit<Receipt, 'delivery'> } {
  const at = options.clock.now();
  const base = { id: delivery.id, claimToken: delivery.claimToken!, at };
  if (delivery.attempts >= (options.retry.maxAttempts ?? 8)) {
    const reason = `gave up after ${delivery.attempts} attempts: ${error.reason ?? error.code}`;
    return {
      outcome: { ...base, status: 'dead', error: { code: error.code, reason } },
      receipt: { kind: 'dead-letter', code: error.code, reason },
    };
  }
  const dueAt = at + retryDelay(delivery.attempts, retryAfterMs, options.retry, options.random);
  if (delivery.expiresAt !== undefined && dueAt >= delivery.expiresAt) {
    const reason = `expired before the next attempt (last: ${error.reason ?? error.code})`;
    return {
      outcome: { ...base, status: 'expired', error: { code: 'ERR_DELIVERY_EXPIRED', reason } },
      receipt: { kind: 'expired', code: 'ERR_DELIVERY_EXPIRED', reason },
    };
  }
  return { outcome: { ...base, status: 'retry', dueAt, error } };
}

/**
 * The dispatch stage: hands a claimed batch to its platform's transport in one `sendEach` (each delivery with
 * its own message and its remaining lifetime), and maps every result to an outbox outcome — `delivered`;
 * `invalid-token` fails the delivery and prunes the device; `retry-after` and thrown exceptions back off
 * (honouring Retry-After) until attempts run out; `rejected` fails for good. A delivery whose expiry has passed
 * is never sent: it settles `expired`. Receipts for durable consumers ride on the outcomes, so they are stored
 * with the settle or not at all.
 *
 * @example
 * ```ts
 * const deliver = createDeliveryHandler({ devices: store.devices, transports, clock, logger, retry: {}, random: Math.random, receipts });
 * const { outcomes } = await deliver(batch, { signal, priority: 'normal' });
 * ```
 */
export function createDeliveryHandler(options: DeliverOptions) {
  return async (batch: readonly Delivery[], context: DeliveryContext): Promise<HandledBatch> => {
    const outcomes: DeliveryOutcome[] = [];
    const receipts = new Map<string, Receipt>();
    const end = (delivery: Delivery, outcome: DeliveryOutcome, receipt?: Omit<Receipt, 'delivery'>) => {
      if (receipt) {
        const full = { delivery, ...receipt };
        receipts.set(delivery.id, full);
        const emit = options.receipts.emitFor(full);
        if (emit) outcome.emit = emit;
      }
      outcomes.push(outcome);
    };
    const now = options.clock.now();
    const live: Delivery[] = [];
    for (const d of batch) {
      if (d.expiresAt !== undefined && d.expiresAt <= now) {
        const error = { code: 'ERR_DELIVERY_EXPIRED', reason: 'expired before it could be sent' };
        end(
          d,
          { id: d.id, claimToken: d.claimToken!, status: 'expired', error, at: now },
          { kind: 'expired', ...error },
        );
      } else live.push(d);
    }
    const byPlatform = new Map<Platform, Delivery[]>();
    for (const d of live) {
      const group = byPlatform.get(d.platform);
      if (group) group.push(d);
      else byPlatform.set(d.platform, [d]);
    }
    for (const [platform, group] of byPlatform) {
      const transport = options.transports.get(platform);
      if (!transport) {
        for (const d of group) {
          const r = retryOrDead(
            d,
            { code: 'ERR_NO_TRANSPORT', reason: `no ${platform} transport` },
            undefined,
            options,
          );
          end(d, r.outcome, r.receipt);
        }
        continue;
      }
      const tokens = options.actionTokens ? await mintTokens(group, options.actionTokens, now) : undefined;
      const requests = group.map((d): PushRequest => {
        const token = tokens?.get(d.id);
        const target =
          token === undefined
            ? d.target
            : { ...d.target, data: { ...d.target.data, nid: d.notificationId, tok: token } };
        const request: PushRequest = { message: d.message, target };
        if (d.expiresAt !== undefined) request.expiresAt = d.expiresAt;
        return request;
      });
      let results: DeliveryResult[];
      try {
        results = await transport.sendEach(requests, { signal: context.signal, priority: context.priority });
      } catch (error) {
        const code = isIdrelayError(error) ? error.code : 'ERR_TRANSPORT_NETWORK';
        const reason = error instanceof Error ? error.message : String(error);
        options.logger.warn({ err: error, transport: transport.name, deliveries: group.length }, 'transport threw');
        for (const d of group) {
          const r = retryOrDead(d, { code, reason }, undefined, options);
          end(d, r.outcome, r.receipt);
        }
        continue;
      }
      group.forEach((d, index) => {
        const result = results[index];
        const at = options.clock.now();
        const base = { id: d.id, claimToken: d.claimToken!, at };
        if (result === undefined || result.deviceId !== d.deviceId) {
          const r = retryOrDead(
            d,
            { code: 'ERR_TRANSPORT_NETWORK', reason: 'the transport returned no result' },
            undefined,
            options,
          );
          end(d, r.outcome, r.receipt);
        } else if (result.status === 'delivered') {
          const providerMessageId = result.providerMessageId;
          end(
            d,
            { ...base, status: 'delivered', ...(providerMessageId ? { providerMessageId } : {}) },
            { kind: 'delivered', ...(providerMessageId ? { providerMessageId } : {}) },
          );
        } else if (result.status === 'retry-after') {
          const error = { code: result.code, ...(result.reason ? { reason: result.reason } : {}) };
          const r = retryOrDead(d, error, result.retryAfterMs, options);
          end(d, r.outcome, r.receipt);
        } else if (result.code === 'ERR_DELIVERY_EXPIRED') {
          const error = { code: result.code, ...(result.reason ? { reason: result.reason } : {}) };
          end(d, { ...base, status: 'expired', error }, { kind: 'expired', ...error });
        } else {
          const error = { code: result.code, ...(result.reason ? { reason: result.reason } : {}) };
          end(
            d,
            { ...base, status: 'failed', error },
            { kind: result.status === 'invalid-token' ? 'invalid-token' : 'rejected', ...error },
          );
        }
      });
    }
    return { outcomes, receipts };
  };
}

/**
 * After a batch settled: prunes devices whose token the push service called invalid — unless the device
 * re-registered with another address since this delivery was claimed — and reports the applied receipts.
 * Failures here are logged: the sends happened, and turning them into retries would only duplicate pushes.
 */
export async function afterSettle(
  options: Pick<DeliverOptions, 'devices' | 'logger' | 'receipts'>,
  handled: HandledBatch,
  stale: ReadonlySet<string>,
): Promise<void> {
  const applied = [...handled.receipts.values()].filter((r) => !stale.has(r.delivery.id));
  for (const receipt of applied) {
    if (receipt.kind !== 'invalid-token') continue;
    const d = receipt.delivery;
    try {
      const device = await options.devices.get(d.deviceId);
      if (device && deviceAddressKey(device) === deviceAddressKey(d.target)) await options.devices.remove(d.deviceId);
    } catch (error) {
      options.logger.error({ err: error, deviceId: d.deviceId }, 'pruning a device failed');
    }
  }
  await options.receipts.settled(applied).catch((error: unknown) => {
    options.logger.error({ err: error, receipts: applied.length }, 'recording receipts failed');
  });
}
