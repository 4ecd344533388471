import type { DeliveryResult, DeviceTarget, ErrorCode, Logger } from '@idrelay/core';
import { backoffDelay } from '@idrelay/core';
import type { BatchResponse, Message, Messaging } from 'firebase-admin/messaging';
import {
  type Base,
  FCM_MAX_PAYLOAD_BYTES,
  type FcmMessageTemplate,
  payloadBytes,
  timedBase,
  withTarget,
} from './build-message.js';
import { hasExpired, lifetimeSeconds } from './lifetime.js';
import { mapFcmError } from './map-error.js';
import type { RetryPolicy } from './retry-policy.js';

/** One request waiting for an answer; `index` is its place in the caller's requests. */
export interface PendingRequest {
  index: number;
  target: Extract<DeviceTarget, { platform: 'fcm' }>;
  template: FcmMessageTemplate;
  expiresAt: number | undefined;
}

/** What {@link deliverBatch} needs from the transport. */
export interface DeliverContext {
  messaging: Messaging;
  policy: RetryPolicy;
  now: () => number;
  random: () => number;
  /** Resolves when `ms` have passed; on abort it may resolve `false` or reject. */
  sleep: (ms: number, signal: AbortSignal) => Promise<unknown>;
  logger: Logger;
  /** How long one `sendEach` call may take before its unanswered messages become `ERR_TRANSPORT_TIMEOUT`. */
  timeoutMs: number;
  /** Aborted by the caller's signal or by `close()`; `abortCode` says which. */
  signal: AbortSignal;
  abortCode: () => ErrorCode;
  /** Payload sizes of messages without device data, per shared base: a fan-out serialises its message once. */
  sizes: WeakMap<Base, number>;
}

const ABORTED = Symbol('aborted');
const TIMED_OUT = Symbol('timed out');

/**
 * Waits for `work`, at most `timeoutMs` and no longer than `signal` lets it. firebase-admin's `sendEach` takes no
 * signal and no timeout of ours (its own is a fixed 15 s per request, per retry), so a call that stops waiting
 * leaves `work` running in the background; its late answer is dropped.
 */
function settleWithin<T>(
  work: Promise<T>,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<T | typeof ABORTED | typeof TIMED_OUT> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      resolve(ABORTED);
    };
    const timer = setTimeout(() => {
      done();
      resolve(TIMED_OUT);
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

/** Builds what goes out now: refuses expired and oversized requests into `results`, returns the rest. */
function prepare(
  pending: readonly PendingRequest[],
  results: DeliveryResult[],
  context: DeliverContext,
): { pending: PendingRequest; message: Message }[] {
  const now = context.now();
  const out: { pending: PendingRequest; message: Message }[] = [];
  for (const p of pending) {
    const deviceId = p.target.deviceId;
    if (hasExpired(p.expiresAt, now)) {
      results[p.index] = expired(deviceId);
      continue;
    }
    const base = timedBase(p.template, lifetimeSeconds(p.template.ttlSeconds, p.expiresAt, now), now);
    const message = withTarget(p.template, base, p.target);
    let bytes = p.target.data ? undefined : context.sizes.get(base);
    if (bytes === undefined) {
      bytes = payloadBytes(message);
      if (!p.target.data) context.sizes.set(base, bytes);
    }
    if (bytes > FCM_MAX_PAYLOAD_BYTES) {
      const reason = `The FCM message is ${bytes} bytes; the limit is ${FCM_MAX_PAYLOAD_BYTES}.`;
      results[p.index] = { deviceId, status: 'rejected', code: 'ERR_FCM_PAYLOAD_TOO_LARGE', reason };
      continue;
    }
    out.push({ pending: p, message });
  }
  return out;
}

/**
 * Sends up to 500 messages (each request's own, distinct or shared) with one `sendEach` call and retries the
 * retryable failures with backoff, honouring `Retry-After`, until the policy's attempts run out or the service asks
 * for a longer wait than we spend in-process; those devices then get `retry-after` for the outbox. Each attempt
 * judges expiry and the remaining lifetime anew. A call unanswered after `timeoutMs` gives its messages
 * `retry-after` `ERR_TRANSPORT_TIMEOUT`, not retried here: FCM may already have them. Writes one result per request
 * into `results`.
 */
export async function deliverBatch(
  batch: readonly PendingRequest[],
  results: DeliveryResult[],
  context: DeliverContext,
): Promise<void> {
  let pending = batch;
  for (let attempt = 1; ; attempt++) {
    const sending = prepare(pending, results, context);
    if (sending.length === 0) return;
    let response: BatchResponse | typeof ABORTED | typeof TIMED_OUT;
    try {
      // sendEach throws synchronously for a malformed array; a promise chain turns that into a rejection.
      const sent = Promise.resolve().then(() => context.messaging.sendEach(sending.map((s) => s.message)));
      response = await settleWithin(sent, context.signal, context.timeoutMs);
    } catch (error) {
      const failure = mapFcmError(error, context.now());
      response = {
        successCount: 0,
        failureCount: sending.length,
        responses: sending.map(() => ({ success: false, error: error as never })),
      };
      context.logger.warn({ code: failure.code, messages: sending.length }, 'fcm sendEach failed as a whole');
    }
    if (response === ABORTED) return abandon(sending, results, context.abortCode());
    if (response === TIMED_OUT) {
      const reason = `No answer from FCM within ${context.timeoutMs} ms.`;
      for (const { pending: p } of sending) {
        results[p.index] = {
          deviceId: p.target.deviceId,
          status: 'retry-after',
          code: 'ERR_TRANSPORT_TIMEOUT',
          reason,
        };
      }
      return;
    }
    const retry: { pending: PendingRequest; code: ErrorCode; reason: string; retryAfterMs?: number }[] = [];
    response.responses.forEach((answer, k) => {
      const p = sending[k]!.pending;
      const deviceId = p.target.deviceId;
      if (answer.success) {
        results[p.index] = answer.messageId
          ? { deviceId, status: 'delivered', providerMessageId: answer.messageId }
          : { deviceId, status: 'delivered' };
        return;
      }
      const failure = mapFcmError(answer.error, context.now());
      if (failure.status === 'retry-after') retry.push({ pending: p, ...failure });
      else results[p.index] = { deviceId, ...failure };
    });
    if (retry.length === 0) return;
    // A device whose Retry-After is longer than we wait in-process goes back to the outbox now; the rest retry.
    const lastAttempt = attempt >= context.policy.attempts;
    const again = lastAttempt ? [] : retry.filter((r) => (r.retryAfterMs ?? 0) <= context.policy.maxDelayMs);
    const retrying = new Set(again);
    const done = retry.filter((r) => !retrying.has(r));
    let retried = false;
    if (again.length > 0) {
      const retryAfterMs = Math.max(0, ...again.map((r) => r.retryAfterMs ?? 0));
      const delay = Math.max(backoffDelay(attempt, context.policy, context.random), retryAfterMs);
      context.logger.debug({ attempt, delay, messages: again.length, code: again[0]!.code }, 'fcm retry');
      retried = await context.sleep(delay, context.signal).then(
        (slept) => slept !== false && !context.signal.aborted,
        () => false,
      );
    }
    const settle = retried ? done : retry;
    for (const { pending: p, code, reason, retryAfterMs: after } of settle) {
      const deviceId = p.target.deviceId;
      results[p.index] =
        after === undefined
          ? { deviceId, status: 'retry-after', code, reason }
          : { deviceId, status: 'retry-after', code, reason, retryAfterMs: after };
    }
    if (!retried) return;
    pending = again.map((r) => r.pending);
  }
}

/** A request refused because its `expiresAt` passed before it could be sent. */
export function expired(deviceId: string): DeliveryResult {
  return { deviceId, status: 'rejected', code: 'ERR_DELIVERY_EXPIRED', reason: 'expired before it could be sent' };
}

function abandon(sending: readonly { pending: PendingRequest }[], results: DeliveryResult[], code: ErrorCode): void {
  const reason =
    code === 'ERR_TRANSPORT_CLOSED' ? 'The transport was closed before FCM answered.' : 'Aborted before FCM answered.';
  for (const { pending: p } of sending) {
    results[p.index] = { deviceId: p.target.deviceId, status: 'retry-after', code, reason };
  }
}

/** Runs `tasks` with at most `limit` at a time. */
export async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
