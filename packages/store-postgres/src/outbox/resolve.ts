import type { Delivery, OutboxStatus, Platform, PushMessage } from '@idrelay/core';
import { deviceTarget } from '@idrelay/core';
import { integerArray } from '../array-literal.js';
import type { PgContext, Query, Row } from '../context.js';
import { errorOf, num, str } from '../context.js';
import { addressOf } from '../devices.js';

/** The delivery columns a {@link Delivery} needs, from `deliveries d`; the device's platform is its own. */
export const DELIVERY_COLUMNS = `d.id, d.notification_ref, d.message_ref, d.platform AS delivery_platform, d.status,
  d.priority, d.due_at, d.ready_at, d.expires_at, d.attempts, d.claim_token, d.data, d.last_error_code,
  d.last_error_reason, d.provider_message_id, d.created_at, d.updated_at`;

/** The device columns, from `devices v`: who it belongs to and its current address. */
export const DEVICE_COLUMNS = 'v.device_id, v.user_id, v.platform, v.address, v.topic, v.environment, v.p256dh, v.auth';

interface Rendered {
  notificationId: string;
  eventKey: string;
  ruleId: string;
  variant: string;
  message: PushMessage;
}

/**
 * Turns delivery rows (`DELIVERY_COLUMNS` and `DEVICE_COLUMNS`) into {@link Delivery} objects. Messages and their
 * notifications are read in one query per call, once per distinct message: a claim of 1,000 deliveries of one
 * announcement parses its message once, and every delivery holds that same (read-only) object.
 */
export async function toDeliveries(context: PgContext, rows: readonly Row[], query: Query = context.query) {
  const refs = [...new Set(rows.map((row) => num(row.message_ref)!))];
  const rendered = new Map<number, Rendered>();
  if (refs.length > 0) {
    const found = await query(
      `SELECT m.id, m.variant, m.body, n.notification_id, n.event_key, n.rule_id
       FROM ${context.table('messages')} m JOIN ${context.table('notifications')} n ON n.id = m.notification_ref
       WHERE m.id = ANY($1::int[])`,
      [integerArray(refs)],
    );
    for (const row of found.rows) {
      rendered.set(num(row.id)!, {
        notificationId: str(row.notification_id)!,
        eventKey: str(row.event_key)!,
        ruleId: str(row.rule_id)!,
        variant: str(row.variant)!,
        message: row.body as PushMessage,
      });
    }
  }
  return rows.map((row) => toDelivery(row, rendered.get(num(row.message_ref)!)!));
}

function toDelivery(row: Row, rendered: Rendered): Delivery {
  const status = str(row.status) as OutboxStatus;
  const data = row.data as Readonly<Record<string, string>> | null;
  const delivery: Delivery = {
    id: String(row.id),
    eventKey: rendered.eventKey,
    notificationId: rendered.notificationId,
    ruleId: rendered.ruleId,
    userId: str(row.user_id)!,
    deviceId: str(row.device_id)!,
    platform: str(row.delivery_platform) as Platform,
    dueAt: num(row.due_at)!,
    priority: num(row.priority)!,
    message: rendered.message,
    variant: rendered.variant,
    target: deviceTarget(addressOf(row), data ?? undefined),
    status,
    attempts: num(row.attempts)!,
    createdAt: num(row.created_at)!,
    updatedAt: num(row.updated_at)!,
  };
  const expiresAt = num(row.expires_at);
  const claimToken = num(row.claim_token);
  const lastError = errorOf(row.last_error_code, row.last_error_reason);
  const providerMessageId = str(row.provider_message_id);
  if (expiresAt !== undefined) delivery.expiresAt = expiresAt;
  if (claimToken !== undefined) delivery.claimToken = claimToken;
  if (status === 'claimed') delivery.leaseUntil = num(row.ready_at)!;
  if (lastError !== undefined) delivery.lastError = lastError;
  if (providerMessageId !== undefined) delivery.providerMessageId = providerMessageId;
  return delivery;
}
