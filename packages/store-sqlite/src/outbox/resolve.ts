import type { Delivery, Platform, PushMessage } from '@idrelay/core';
import { deviceTarget } from '@idrelay/core';
import { addressOf } from '../devices.js';
import type { Row, SqliteContext } from '../driver.js';
import { fromJson, int, text } from '../driver.js';
import { DELIVERY_STATUS_NAME } from '../status-codes.js';

/** The device columns a delivery needs, from `devices v` (its `platform` is the device's). */
export const DEVICE_COLUMNS = `v.device_id, v.user_id, v.platform, v.address, v.topic, v.environment, v.p256dh, v.auth,
  v.removed_at`;

/** Every delivery column but the platform, which `DEVICE_COLUMNS` names for the device. */
export const DELIVERY_COLUMNS = `d.id, d.notification_ref, d.message_ref, d.platform AS delivery_platform, d.status,
  d.priority, d.due_at, d.ready_at, d.expires_at, d.attempts, d.claim_token, d.data, d.last_error,
  d.provider_message_id, d.created_at, d.updated_at`;

/** What a claim decided for every row it returns. */
export interface ClaimState {
  claimToken: number;
  leaseUntil: number;
  now: number;
}

/**
 * Turns rows into {@link Delivery} objects within one call. Notifications and messages are read once per distinct
 * ref and shared: a claim of 1,000 deliveries of one announcement parses its message once, and every delivery
 * holds the same (read-only) object.
 */
export function createResolver(context: SqliteContext) {
  const notifications = new Map<number, { notificationId: string; eventKey: string; ruleId: string }>();
  const messages = new Map<number, { message: PushMessage; variant: string }>();

  const notificationOf = (ref: number) => {
    let found = notifications.get(ref);
    if (found === undefined) {
      const row = context
        .statement('SELECT notification_id, event_key, rule_id FROM notifications WHERE id = ?')
        .get(ref) as Row;
      found = {
        notificationId: text(row.notification_id)!,
        eventKey: text(row.event_key)!,
        ruleId: text(row.rule_id)!,
      };
      notifications.set(ref, found);
    }
    return found;
  };

  const messageOf = (ref: number) => {
    let found = messages.get(ref);
    if (found === undefined) {
      const row = context.statement('SELECT variant, body FROM messages WHERE id = ?').get(ref) as Row;
      found = { message: JSON.parse(text(row.body)!) as PushMessage, variant: text(row.variant)! };
      messages.set(ref, found);
    }
    return found;
  };

  /**
   * A delivery row (`DELIVERY_COLUMNS`, or the columns a claim's `RETURNING` gives) with its device row
   * (`DEVICE_COLUMNS`). `claimed` supplies what the claim itself just wrote.
   */
  return function toDelivery(row: Row, device: Row, claimed?: ClaimState): Delivery {
    const notification = notificationOf(int(row.notification_ref)!);
    const { message, variant } = messageOf(int(row.message_ref)!);
    const status = claimed === undefined ? DELIVERY_STATUS_NAME[int(row.status)!]! : 'claimed';
    const data = fromJson<Record<string, string>>(row.data);
    const delivery: Delivery = {
      id: String(row.id),
      eventKey: notification.eventKey,
      notificationId: notification.notificationId,
      ruleId: notification.ruleId,
      userId: text(device.user_id)!,
      deviceId: text(device.device_id)!,
      platform: text(row.delivery_platform ?? row.platform) as Platform,
      dueAt: int(row.due_at)!,
      priority: int(row.priority)!,
      message,
      variant,
      target: deviceTarget(addressOf(device), data),
      status,
      attempts: int(row.attempts)!,
      createdAt: int(row.created_at)!,
      updatedAt: claimed?.now ?? int(row.updated_at)!,
    };
    const expiresAt = int(row.expires_at);
    const claimToken = claimed?.claimToken ?? int(row.claim_token);
    const leaseUntil = claimed?.leaseUntil ?? (status === 'claimed' ? int(row.ready_at) : undefined);
    const lastError = fromJson<Delivery['lastError']>(row.last_error);
    const providerMessageId = text(row.provider_message_id);
    if (expiresAt !== undefined) delivery.expiresAt = expiresAt;
    if (claimToken !== undefined) delivery.claimToken = claimToken;
    if (leaseUntil !== undefined) delivery.leaseUntil = leaseUntil;
    if (lastError !== undefined) delivery.lastError = lastError;
    if (providerMessageId !== undefined) delivery.providerMessageId = providerMessageId;
    return delivery;
  };
}
