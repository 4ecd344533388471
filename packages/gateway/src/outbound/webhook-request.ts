import { parseRetryAfter } from '@idrelay/core';
import type { Webhook } from 'standardwebhooks';
import type { DeliveryAttempt } from './delivery-log.js';
import type { WebhookErrorCode } from './webhook-errors.js';
import { CLOUDEVENTS_JSON } from './webhook-payload.js';

/** What one delivery attempt came to. */
export interface Answer {
  outcome: DeliveryAttempt['outcome'];
  /** The final HTTP status, or 0 without an answer. */
  status: number;
  code?: WebhookErrorCode;
  /** Status and origin only: never the path (it may hold a token) or the answer's body. */
  reason?: string;
  /** The endpoint's Retry-After, capped, on a 408/429/5xx. */
  retryAfterMs?: number;
}

/** One signed POST of an event body: where, with what, how long. */
export interface DeliverRequest {
  url: URL;
  signer: Webhook;
  /** The `webhook-id`, the same on every attempt. */
  id: string;
  body: string;
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  maxRedirects: number;
  maxRetryAfterMs: number;
  fetch: typeof globalThis.fetch;
  now(): number;
  /** The caller's deadline (the outgoing pump's), besides `timeoutMs`. */
  signal?: AbortSignal;
}

const redirect = (status: number, reason: string): Answer => ({
  outcome: 'refused',
  status,
  code: 'ERR_WEBHOOK_REDIRECT',
  reason,
});

/**
 * POSTs `body` signed with Standard Webhooks (a fresh `webhook-timestamp` and signature per request, the same
 * `webhook-id`) and maps the answer: 2xx written; 408, 429, 5xx, a network error or the timeout retry (with the
 * Retry-After); 307/308 on the same origin followed up to `maxRedirects`; other redirects and 4xx refused. The
 * answer's body is never read.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme
 */
export async function deliver(request: DeliverRequest): Promise<Answer> {
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
  try {
    return await exchange(request, signal);
  } catch (error) {
    if (timeout.aborted) {
      return {
        outcome: 'retry',
        status: 0,
        code: 'ERR_WEBHOOK_TIMEOUT',
        reason: `no answer within ${request.timeoutMs} ms`,
      };
    }
    const cause = (error as { cause?: { code?: unknown } }).cause?.code;
    const message = error instanceof Error ? error.message : String(error);
    return {
      outcome: 'retry',
      status: 0,
      code: 'ERR_WEBHOOK_UNAVAILABLE',
      reason: `${request.url.origin} unreachable: ${typeof cause === 'string' ? cause : message}`.slice(0, 300),
    };
  }
}

async function exchange(request: DeliverRequest, signal: AbortSignal): Promise<Answer> {
  const { url, id, body } = request;
  let target = url;
  for (let hop = 0; ; hop++) {
    const timestamp = new Date(request.now());
    const headers = {
      ...request.headers,
      'content-type': CLOUDEVENTS_JSON,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': request.signer.sign(id, timestamp, body),
    };
    const response = await request.fetch(target, { method: 'POST', headers, body, redirect: 'manual', signal });
    // Nothing in the answer's body changes the outcome, and it could be large.
    await response.body?.cancel().catch(() => undefined);
    const status = response.status;
    if (status >= 200 && status < 300) return { outcome: 'written', status };
    if (status >= 300 && status < 400) {
      const location = response.headers.get('location');
      const next = location ? URL.parse(location, target.href) : null;
      if (next === null) return redirect(status, `${status} without a Location`);
      // The signature and the event never travel to a host the operator did not configure.
      if (next.origin !== url.origin)
        return redirect(status, `${status} to another origin (${next.origin}) not followed`);
      // 301/302/303 would turn the POST into a GET in most clients; the receiver should name its final URL.
      if (status !== 307 && status !== 308) return redirect(status, `${status} not followed`);
      if (hop >= request.maxRedirects) return redirect(status, `more than ${request.maxRedirects} redirects`);
      target = next;
      continue;
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after') ?? undefined, request.now(), {
        maxMs: request.maxRetryAfterMs,
      });
      return {
        outcome: 'retry',
        status,
        code: 'ERR_WEBHOOK_UNAVAILABLE',
        reason: `HTTP ${status} from ${url.origin}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    }
    return { outcome: 'refused', status, code: 'ERR_WEBHOOK_REFUSED', reason: `HTTP ${status} from ${url.origin}` };
  }
}
