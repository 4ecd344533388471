import type { Logger } from '@idrelay/core';
import type { Messaging } from 'firebase-admin/messaging';

/** The private shape of firebase-admin 14.5's messaging clients that carries their retry configuration. */
interface RetryingClients {
  messagingRequestHandler?: { httpClient?: { retry?: unknown }; http2Client?: { retry?: unknown } };
}

/**
 * Turns off firebase-admin's own retries so that this transport's policy is the only one: firebase-admin retries
 * 503 (honouring `Retry-After` up to 60 s), resets and its 15 s timeouts up to 4 times inside one `sendEach`, which
 * made `retry: false` still retry and let one call outlive any timeout of ours. There is no public option for it:
 * this sets `retry` to `null` on the two request clients of the messaging instance (firebase-admin checks
 * `if (!this.retry)` before retrying). firebase-admin is tested at 14.5.1 (peer range `^14.5.1`); if a later
 * version moves the field, the transport logs a warning and firebase-admin's retries stay on.
 *
 * @see https://github.com/firebase/firebase-admin-node/blob/master/src/utils/api-request.ts (defaultRetryConfig)
 * @returns true when both clients were found and changed.
 * @example
 * ```ts
 * disableSdkRetries(getMessaging(app), logger);
 * ```
 */
export function disableSdkRetries(messaging: Messaging, logger: Logger): boolean {
  const handler = (messaging as unknown as RetryingClients).messagingRequestHandler;
  const clients = [handler?.httpClient, handler?.http2Client];
  if (!clients.every((client) => client !== undefined && 'retry' in client)) {
    logger.warn({}, 'fcm: firebase-admin retry settings not found; its own retries stay on');
    return false;
  }
  for (const client of clients) client!.retry = null;
  return true;
}
