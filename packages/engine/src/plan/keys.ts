import { createHash } from 'node:crypto';

/**
 * The notification id of one rule's notification about one event: the same on every replay, so a re-planned
 * event yields the same ids and the outbox's one-delivery-per-(notification, device) rule absorbs the repeat.
 *
 * @example
 * ```ts
 * notificationId('https://iam.example.com#e-1', 'verification-to-user'); // 'n-…' (22 characters of SHA-1)
 * ```
 */
export function notificationId(key: string, ruleId: string): string {
  return `n-${createHash('sha1').update(key).update('\0').update(ruleId).digest('base64url').slice(0, 22)}`;
}
