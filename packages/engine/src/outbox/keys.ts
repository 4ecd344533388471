import { createHash } from 'node:crypto';

/**
 * The dedupe key of an event: CloudEvents says `source` and `id` identify an event.
 *
 * @example
 * ```ts
 * eventKey({ source: 'https://iam.example.com', id: 'e-1' }); // 'https://iam.example.com#e-1'
 * ```
 */
export function eventKey(event: { source: string; id: string }): string {
  return `${event.source}#${event.id}`;
}

/**
 * The notification id of one rule's notification about one event: the same on every replay, so a re-planned
 * event yields the same ids and the outbox's idempotency keys absorb the repeat.
 *
 * @example
 * ```ts
 * notificationId('https://iam.example.com#e-1', 'verification-to-user'); // 'n-…' (22 characters of SHA-1)
 * ```
 */
export function notificationId(key: string, ruleId: string): string {
  return `n-${createHash('sha1').update(key).update('\0').update(ruleId).digest('base64url').slice(0, 22)}`;
}

/**
 * Makes idempotency keys `hash(event key, rule id, device id)` for one notification; the prefix is hashed once
 * and copied per device, which keeps planning 200,000 deliveries cheap.
 *
 * @example
 * ```ts
 * const keyOf = idempotencyKeys(eventKey(event), 'announcement-to-audience');
 * keyOf('device-1'); // 27 base64url characters
 * ```
 */
export function idempotencyKeys(key: string, ruleId: string): (deviceId: string) => string {
  const prefix = createHash('sha1').update(key).update('\0').update(ruleId).update('\0');
  return (deviceId) => prefix.copy().update(deviceId).digest('base64url');
}
