import type { AuditStore, EventType, Logger } from '@idrelay/core';
import { createDeliveryLog, type DeliveryAttempt, type DeliveryLog } from './delivery-log.js';
import { webhookConfigError } from './webhook-errors.js';
import { createWebhookWriteBack, type WebhookWriteBack } from './webhook-write-back.js';

/** One endpoint that receives the event types it subscribed to. */
export interface WebhookSubscription {
  /** Stable name (the outgoing log's consumer key); default `webhook:<host><path>`. */
  name?: string;
  /** `https`, or `http` to a loopback host (anywhere with `allowInsecure`). */
  url: string;
  /** `whsec_…` Standard Webhooks secret. */
  secret: string;
  /** The catalogue event types this endpoint receives. */
  types: readonly EventType[];
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /** Per-request timeout, ms; default the subscriptions' `timeoutMs`. */
  timeoutMs?: number;
}

/** Options of {@link createWebhookSubscriptions}. */
export interface WebhookSubscriptionsOptions {
  /** The endpoints, each with the event types it receives. */
  subscriptions: readonly WebhookSubscription[];
  /** Default per-request timeout, ms. Default 10,000. */
  timeoutMs?: number;
  /** Attempts kept per endpoint in the delivery log. Default 200. */
  logSize?: number;
  /** Allow plain `http` to hosts other than loopback. Default false. */
  allowInsecure?: boolean;
  /** When given, every event an endpoint took or refused is appended to the audit log. */
  audit?: Pick<AuditStore, 'append'>;
  /** Where a failed audit append is reported. Default silent. */
  logger?: Logger;
  /** Default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Time for `webhook-timestamp` and Retry-After; default `Date`. */
  clock?: { now(): number };
}

/** What {@link createWebhookSubscriptions} returns. */
export interface WebhookSubscriptions {
  /** One write-back per subscription: pass them to `createRelay({ writeBacks })`. */
  writeBacks: WebhookWriteBack[];
  /** An endpoint's recent attempts (by subscription name), oldest first. */
  log(endpoint: string): DeliveryAttempt[];
  /** The log all endpoints share, to observe attempts as they happen. */
  deliveryLog: DeliveryLog;
}

/**
 * Event subscriptions: each `{ url, secret, types }` becomes a webhook write-back, so the events it chose ride the
 * engine's durable outgoing path (at least once, in order per subject, retried with backoff, dead-lettered), with
 * one delivery log for all of them.
 *
 * @throws {IdrelayError} `ERR_WEBHOOK_CONFIG` for a bad subscription or two with the same name.
 * @example
 * ```ts
 * const webhooks = createWebhookSubscriptions({
 *   subscriptions: [{ url: 'https://soc.example.com/idrelay', secret: 'whsec_…', types: ['idrelay.auth.risk.detected'] }],
 * });
 * const relay = createRelay({ ...options, writeBacks: webhooks.writeBacks });
 * webhooks.log('webhook:soc.example.com/idrelay');
 * ```
 */
export function createWebhookSubscriptions(options: WebhookSubscriptionsOptions): WebhookSubscriptions {
  if (!Array.isArray(options.subscriptions)) throw new TypeError('subscriptions must be an array');
  const deliveryLog = createDeliveryLog(options.logSize === undefined ? {} : { perEndpoint: options.logSize });
  const names = new Set<string>();
  const writeBacks = options.subscriptions.map((subscription, index) => {
    let name = subscription.name;
    if (name === undefined) {
      const parsed = URL.parse(String(subscription.url));
      if (!parsed) throw webhookConfigError(`subscriptions[${index}]`, 'url is not an absolute URL');
      name = `webhook:${parsed.host}${parsed.pathname}`;
    }
    if (names.has(name)) throw webhookConfigError(name, 'two subscriptions have this name; give each its own');
    names.add(name);
    return createWebhookWriteBack({
      name,
      url: subscription.url,
      secret: subscription.secret,
      types: subscription.types,
      timeoutMs: subscription.timeoutMs ?? options.timeoutMs ?? 10_000,
      deliveryLog,
      ...(subscription.headers ? { headers: subscription.headers } : {}),
      ...(options.allowInsecure ? { allowInsecure: true } : {}),
      ...(options.audit ? { audit: options.audit } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
  });
  return { writeBacks, log: (endpoint) => deliveryLog.log(endpoint), deliveryLog };
}
