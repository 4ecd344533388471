import { fitIdentifier, type PushMessage } from '@idrelay/core';

/**
 * The JSON a service worker receives in `event.data.json()`: what `registration.showNotification(title, options)`
 * needs, plus the notification id and the action category for the response flow.
 */
export interface WebPushPayload {
  id: string;
  title?: string;
  body?: string;
  subtitle?: string;
  category?: string;
  /** Notification `tag`: replaces an earlier notification with the same tag on the device. */
  tag?: string;
  actions?: { action: string; title: string; destructive?: boolean }[];
  icon?: string;
  badge?: string;
  /** Where `notificationclick` navigates: the template's `platform.webpush.url`, else the message's deep link. */
  url?: string;
  requireInteraction?: boolean;
  urgency: PushMessage['urgency'];
  data: Record<string, string>;
}

/** RFC 8291 §4: a 4096-byte record minus 16 (tag), 1 (delimiter) and 86 (header) leaves 3993 octets of plaintext. */
export const MAX_PLAINTEXT_BYTES = 3993;

/**
 * Renders a {@link PushMessage} to the Web Push payload, without the per-device `data` (merged later). `tag` is
 * `platform.webpush.tag`, else `threadId`; the deep link (`message.url`) is in `data.url`, where a service worker
 * finds it as `event.notification.data.url`, and in `url` unless the template set one.
 *
 * @example
 * ```ts
 * const base = buildPayload(message);
 * const json = JSON.stringify({ ...base, data: { ...base.data, ...target.data } });
 * ```
 */
export function buildPayload(message: PushMessage): WebPushPayload {
  const web = message.platform?.webpush;
  const data = message.url === undefined ? { ...message.data } : { ...message.data, url: message.url };
  const payload: WebPushPayload = { id: message.id, urgency: message.urgency, data };
  if (message.title !== undefined) payload.title = message.title;
  if (message.body !== undefined) payload.body = message.body;
  if (message.subtitle !== undefined) payload.subtitle = message.subtitle;
  if (message.category !== undefined) payload.category = message.category;
  const tag = web?.tag ?? message.threadId;
  if (tag !== undefined) payload.tag = tag;
  if (message.actions?.length) {
    payload.actions = message.actions.map((a) => ({
      action: a.id,
      title: a.title,
      ...(a.destructive ? { destructive: true } : {}),
    }));
  }
  if (web?.icon !== undefined) payload.icon = web.icon;
  if (web?.badge !== undefined) payload.badge = web.badge;
  const url = web?.url ?? message.url;
  if (url !== undefined) payload.url = url;
  if (web?.requireInteraction !== undefined) payload.requireInteraction = web.requireInteraction;
  return payload;
}

/** RFC 8030 §5.4: a Topic is at most 32 characters of the URL- and filename-safe base64 alphabet. */
const TOPIC_ALPHABET = /^[A-Za-z0-9_-]+$/;

/**
 * Turns a collapse id into an RFC 8030 `Topic` with core's `fitIdentifier`: kept as is when it is already at most
 * 32 base64url characters, otherwise the first 32 characters of its SHA-256 in base64url (192 bits, so distinct ids
 * stay distinct and one id always gives the same Topic).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8030#section-5.4
 * @example
 * ```ts
 * toTopic('approval-42'); // 'approval-42'
 * toTopic('access.requested:tenant-7:req-1234567890'); // 32 base64url characters
 * ```
 */
export function toTopic(collapseId: string): string {
  return fitIdentifier(collapseId, { maxBytes: 32, allowed: TOPIC_ALPHABET });
}
