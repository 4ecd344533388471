import type { AuditStore, EventType, IdentityEvent, Logger, WriteBack, WriteBackResult } from '@idrelay/core';
import { isEventType } from '@idrelay/core/events';
import { createDeliveryLog, type DeliveryAttempt, type DeliveryLog } from './delivery-log.js';
import { endpointUrl } from './endpoint-url.js';
import { webhookConfigError } from './webhook-errors.js';
import { cloudEventBody, webhookId, webhookSigner } from './webhook-payload.js';
import { deliver } from './webhook-request.js';

/**
 * Options of {@link createWebhookWriteBack}.
 *
 * @example
 * ```ts
 * const options: WebhookWriteBackOptions = {
 *   name: 'iam', url: 'https://iam.example.com/hooks/idrelay', secret: process.env.IAM_WEBHOOK_SECRET!,
 *   types: ['idrelay.access.approved', 'idrelay.access.denied'], timeoutMs: 10_000,
 * };
 * ```
 */
export interface WebhookWriteBackOptions {
  /** The write-back's name: the outgoing log's consumer key, so keep it stable across restarts. */
  name: string;
  /** Where events are POSTed: `https`, or `http` to a loopback host (or anywhere with `allowInsecure`). */
  url: string | URL;
  /** The endpoint's Standard Webhooks secret (`whsec_…`); the receiver verifies with the same. */
  secret: string;
  /** The event types sent to this endpoint (catalogue types, e.g. `idrelay.access.approved`). */
  types: readonly EventType[];
  /** How long one request may take before it is abandoned and retried, ms (1 to 120,000). */
  timeoutMs: number;
  /** Extra request headers (an `x-api-key` the receiver wants); `content-type`, `host` and `webhook-*` are ours. */
  headers?: Readonly<Record<string, string>>;
  /** Allow plain `http` to hosts other than loopback. Default false. */
  allowInsecure?: boolean;
  /** The longest Retry-After honoured, ms; longer requests are cut to it. Default 1 hour. */
  maxRetryAfterMs?: number;
  /** Same-origin 307/308 redirects followed per request. Default 3. */
  maxRedirects?: number;
  /** Where attempts are recorded; default a log of its own (200 per endpoint). Share one across endpoints. */
  deliveryLog?: DeliveryLog;
  /** When given, each final outcome (written, refused) is appended to the audit log. */
  audit?: Pick<AuditStore, 'append'>;
  /** Where a failed audit append is reported (it does not fail the delivery). Default silent. */
  logger?: Logger;
  /** Default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Time for `webhook-timestamp` and Retry-After; default `Date`. */
  clock?: { now(): number };
}

/** A webhook write-back: the core `WriteBack` with its recent attempts. */
export interface WebhookWriteBack extends WriteBack {
  /** The endpoint's URL as configured. */
  readonly url: string;
  /** This endpoint's recent attempts, oldest first. */
  log(): DeliveryAttempt[];
}

const RESERVED_HEADERS = /^(content-type|content-length|host|connection|transfer-encoding|webhook-.*)$/i;
/** Attempts remembered per event for the `attempt` number; the oldest are forgotten first. */
const ATTEMPTS_KEPT = 10_000;

/**
 * A `WriteBack` that POSTs each event to an HTTPS endpoint as a structured CloudEvent
 * (`application/cloudevents+json`), signed with Standard Webhooks. Register it in `createRelay({ writeBacks })`:
 * events then ride the outgoing log — stored with the change that caused them, retried with backoff, in order per
 * subject, dead-lettered after the last attempt. Answers map to the port's result: 2xx written; 408, 429, 5xx, a
 * network error or a timeout retryable; any other 4xx final. A `Retry-After` on 429/503 holds every event for this
 * endpoint until it passes (attempts meanwhile fail fast without a request). Redirects are followed only as 307/308
 * to the same origin; the signature and `webhook-id` never travel elsewhere.
 *
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 * @see https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md#32-structured-content-mode
 * @throws {IdrelayError} `ERR_WEBHOOK_CONFIG` for a bad URL, secret, type list, timeout or header.
 * @example
 * ```ts
 * const iam = createWebhookWriteBack({
 *   name: 'iam', url: 'https://iam.example.com/hooks/idrelay', secret: 'whsec_…',
 *   types: ['idrelay.access.approved', 'idrelay.access.denied'], timeoutMs: 10_000,
 * });
 * const relay = createRelay({ ...options, writeBacks: [iam] });
 * ```
 */
export function createWebhookWriteBack(options: WebhookWriteBackOptions): WebhookWriteBack {
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw webhookConfigError(String(name), 'name must be 1 to 200 characters');
  }
  const url = endpointUrl(name, options.url, options.allowInsecure === true);
  const signer = webhookSigner(name, options.secret);
  if (!Array.isArray(options.types) || options.types.length === 0) {
    throw webhookConfigError(name, 'types must list at least one event type');
  }
  for (const type of options.types) {
    if (!isEventType(type)) throw webhookConfigError(name, `types holds "${String(type)}", not a catalogue event type`);
  }
  const timeoutMs = options.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 120_000) {
    throw webhookConfigError(name, `timeoutMs must be an integer from 1 to 120000, got ${String(timeoutMs)}`);
  }
  const extraHeaders: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {})) {
    if (RESERVED_HEADERS.test(key)) throw webhookConfigError(name, `header "${key}" is set by the webhook itself`);
    if (typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw webhookConfigError(name, `header "${key}" must be a single-line string`);
    }
    extraHeaders[key.toLowerCase()] = value;
  }
  const types = new Set<string>(options.types);
  const maxRedirects = options.maxRedirects ?? 3;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 3_600_000;
  const fetcher = options.fetch ?? globalThis.fetch;
  const now = options.clock ? () => (options.clock as { now(): number }).now() : () => Date.now();
  const deliveryLog = options.deliveryLog ?? createDeliveryLog();
  const attempts = new Map<string, number>();
  let notBefore = 0;

  function countAttempt(id: string): number {
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.delete(id);
    attempts.set(id, n);
    if (attempts.size > ATTEMPTS_KEPT) attempts.delete(attempts.keys().next().value as string);
    return n;
  }

  async function audit(event: IdentityEvent, attempt: DeliveryAttempt): Promise<void> {
    if (!options.audit || attempt.outcome === 'retry' || attempt.outcome === 'deferred') return;
    // The endpoint already has the event: an audit failure must not turn into a re-send.
    await options.audit
      .append([
        {
          at: attempt.at,
          action: attempt.outcome === 'written' ? 'webhook.delivered' : 'webhook.refused',
          actor: 'system',
          eventRef: `${event.source}#${event.id}`,
          target: name,
          details: {
            type: event.type,
            webhookId: attempt.webhookId,
            status: attempt.status,
            attempt: attempt.attempt,
            ...(attempt.code ? { code: attempt.code } : {}),
          },
        },
      ])
      .then(
        () => undefined,
        (error: unknown) => options.logger?.error({ err: error, endpoint: name }, 'auditing a webhook outcome failed'),
      );
  }

  return {
    name,
    types: [...options.types],
    url: url.href,
    log: () => deliveryLog.log(name),
    async write(event, writeOptions = {}): Promise<WriteBackResult> {
      // The relay only hands over listed types; a direct caller's other event is not this endpoint's to receive.
      if (!types.has(event.type)) return { status: 'skipped', reason: `${event.type} is not sent to ${name}` };
      const id = webhookId(name, event);
      const startedAt = now();
      const base = { endpoint: name, eventId: event.id, type: event.type, webhookId: id, at: startedAt };
      if (startedAt < notBefore) {
        deliveryLog.record({ ...base, attempt: attempts.get(id) ?? 0, outcome: 'deferred', status: 0, durationMs: 0 });
        return {
          status: 'failed',
          code: 'ERR_WEBHOOK_UNAVAILABLE',
          reason: `${url.origin} asked to wait until ${new Date(notBefore).toISOString()} (Retry-After)`,
          retryable: true,
        };
      }
      const attempt = countAttempt(id);
      const started = performance.now();
      const answer = await deliver({
        url,
        signer,
        id,
        body: cloudEventBody(event),
        headers: extraHeaders,
        timeoutMs,
        maxRedirects,
        maxRetryAfterMs,
        fetch: fetcher,
        now,
        ...(writeOptions.signal ? { signal: writeOptions.signal } : {}),
      });
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      if (answer.retryAfterMs !== undefined) notBefore = Math.max(notBefore, now() + answer.retryAfterMs);
      const record: DeliveryAttempt = {
        ...base,
        attempt,
        outcome: answer.outcome,
        status: answer.status,
        durationMs,
        ...(answer.code ? { code: answer.code } : {}),
      };
      deliveryLog.record(record);
      if (answer.outcome === 'written') {
        attempts.delete(id);
        await audit(event, record);
        return { status: 'written', reference: id };
      }
      if (answer.outcome === 'refused') await audit(event, record);
      return {
        status: 'failed',
        code: answer.code as string,
        reason: answer.reason as string,
        retryable: answer.outcome === 'retry',
      };
    },
  };
}
