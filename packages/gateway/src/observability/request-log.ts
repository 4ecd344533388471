import { randomUUID } from 'node:crypto';
import type { IdentityEvent, Logger } from '@idrelay/core';
import type { Relay } from '@idrelay/engine';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { DeliveryLog } from '../outbound/delivery-log.js';

/** A request id a client may choose: short, and nothing a log viewer would interpret. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * One log line per request: method, route pattern (never the raw path or query, which can carry tokens), status,
 * duration and request id — the caller's `x-request-id` when it is a plain token, otherwise a new UUID, echoed in
 * the response. Headers and bodies are never logged. 5xx log at `error`, 4xx at `warn`, the rest at `info`.
 *
 * @example
 * ```ts
 * const gateway = createGateway({ relay, store, requestLog: createRequestLog(logger) });
 * ```
 */
export function createRequestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    let failed: unknown;
    try {
      await next();
    } catch (error) {
      failed = error;
      throw error;
    } finally {
      const matched = routePath(c, -1);
      const status = failed === undefined ? c.res.status : 500;
      const line = {
        requestId,
        method: c.req.method,
        route: matched === '*' || matched === '/*' ? 'unmatched' : matched,
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
      if (status >= 500) logger.error(line, 'request');
      else if (status >= 400) logger.warn(line, 'request');
      else logger.info(line, 'request');
      try {
        if (failed === undefined) c.res.headers.set('x-request-id', requestId);
      } catch {
        // A response with immutable headers (a proxied fetch) keeps its own; the id is still in the log.
      }
    }
  };
}

/**
 * One log line per delivery outcome, from the relay's listener: transport, outcome, the failure code, and the
 * delivery, notification and device ids — never the push token, the payload or the user's data. Returns an
 * unsubscribe function.
 *
 * @example
 * ```ts
 * const stop = logDeliveries(relay, logger);
 * ```
 */
export function logDeliveries(relay: Pick<Relay, 'subscribe'>, logger: Logger): () => void {
  return relay.subscribe((event: IdentityEvent) => {
    if (event.type !== 'idrelay.notification.delivered' && event.type !== 'idrelay.notification.failed') return;
    const data = event.data as Record<string, unknown>;
    const delivered = event.type === 'idrelay.notification.delivered';
    const line = {
      transport: data.platform,
      outcome: delivered ? 'delivered' : data.outcome,
      deliveryId: data.deliveryId,
      notificationId: data.notificationId,
      deviceId: data.deviceId,
      attempts: data.attempts,
      ...(delivered ? {} : { code: data.code }),
    };
    if (delivered) logger.info(line, 'delivery');
    else logger.warn(line, 'delivery');
  });
}

/**
 * One log line per outbound webhook attempt: endpoint, event id and type, outcome, status, attempt and duration.
 * Returns an unsubscribe function.
 */
export function logWebhooks(log: DeliveryLog, logger: Logger): () => void {
  return log.subscribe((attempt) => {
    const line = { ...attempt };
    if (attempt.outcome === 'written') logger.info(line, 'webhook');
    else logger.warn(line, 'webhook');
  });
}
