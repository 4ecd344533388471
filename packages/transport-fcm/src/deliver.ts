import type { DeliveryResult, ErrorCode, Logger } from '@idrelay/core';
import type { BatchResponse, Message, Messaging } from 'firebase-admin/messaging';
import { mapFcmError } from './map-error.js';
import { backoffDelay, type RetryPolicy } from './retry-policy.js';

/** One device's message waiting for an answer; `index` is its place in the caller's targets. */
export interface PendingMessage {
  index: number;
  deviceId: string;
  message: Message;
}

/** What {@link deliverBatch} needs from the transport. */
export interface DeliverContext {
  messaging: Messaging;
  policy: RetryPolicy;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  logger: Logger;
  /** Aborted by the caller's signal or by `close()`; `abortCode` says which. */
  signal: AbortSignal;
  abortCode: () => ErrorCode;
}

const ABORTED = Symbol('aborted');

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Sends up to 500 messages with one `sendEach` call and retries the retryable failures with backoff, honouring
 * `Retry-After`, until the policy's attempts run out or the service asks for a longer wait than we spend
 * in-process; those devices then get `retry-after` for the outbox. Writes one result per message into `results`.
 */
export async function deliverBatch(
  batch: readonly PendingMessage[],
  results: DeliveryResult[],
  context: DeliverContext,
): Promise<void> {
  let pending = batch;
  for (let attempt = 1; ; attempt++) {
    let response: BatchResponse | typeof ABORTED;
    try {
      // sendEach throws synchronously for a malformed array; a promise chain turns that into a rejection.
      const sent = Promise.resolve().then(() => context.messaging.sendEach(pending.map((p) => p.message)));
      response = await untilAborted(sent, context.signal);
    } catch (error) {
      const failure = mapFcmError(error, context.now());
      response = {
        successCount: 0,
        failureCount: pending.length,
        responses: pending.map(() => ({ success: false, error: error as never })),
      };
      context.logger.warn({ code: failure.code, messages: pending.length }, 'fcm sendEach failed as a whole');
    }
    if (response === ABORTED) return abandon(pending, results, context.abortCode());

    const retry: { pending: PendingMessage; code: string; reason: string; retryAfterMs?: number }[] = [];
    response.responses.forEach((answer, k) => {
      const p = pending[k]!;
      if (answer.success) {
        results[p.index] = answer.messageId
          ? { deviceId: p.deviceId, status: 'delivered', providerMessageId: answer.messageId }
          : { deviceId: p.deviceId, status: 'delivered' };
        return;
      }
      const failure = mapFcmError(answer.error, context.now());
      if (failure.status === 'retry-after') retry.push({ pending: p, ...failure });
      else results[p.index] = { deviceId: p.deviceId, ...failure };
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
      const delay = backoffDelay(attempt, context.policy, context.random, retryAfterMs);
      context.logger.debug({ attempt, delay, messages: again.length, code: again[0]!.code }, 'fcm retry');
      retried = await context.sleep(delay, context.signal).then(
        () => !context.signal.aborted,
        () => false,
      );
    }
    const settle = retried ? done : retry;
    for (const { pending: p, code, reason, retryAfterMs: after } of settle) {
      results[p.index] =
        after === undefined
          ? { deviceId: p.deviceId, status: 'retry-after', code, reason }
          : { deviceId: p.deviceId, status: 'retry-after', code, reason, retryAfterMs: after };
    }
    if (!retried) return;
    pending = again.map((r) => r.pending);
  }
}

function abandon(pending: readonly PendingMessage[], results: DeliveryResult[], code: ErrorCode): void {
  const reason =
    code === 'ERR_TRANSPORT_CLOSED' ? 'The transport was closed before FCM answered.' : 'Aborted before FCM answered.';
  for (const p of pending) results[p.index] = { deviceId: p.deviceId, status: 'retry-after', code, reason };
}

/** Runs `tasks` with at most `limit` at a time. */
export async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
