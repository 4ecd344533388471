/**
 * What a transport sends: a rendered, platform-neutral push message and the devices it goes to.
 * Templates in the engine produce it; each transport maps it onto its wire format (APNs payload, FCM v1 message,
 * Web Push JSON).
 */

import type { ErrorCode } from '../errors/codes.js';

/** The push platforms idrelay delivers to. */
export type Platform = 'apns' | 'fcm' | 'webpush';

/** RFC 8030 §5.3 urgency; APNs priority and FCM Android priority are derived from it. */
export type Urgency = 'very-low' | 'low' | 'normal' | 'high';

/** A button on the notification (APNs category action, FCM/Web Push action). */
export interface PushAction {
  /** Sent back by the device as the decision, e.g. `approve`, `deny`, `report`. */
  id: string;
  title: string;
  /** Shown in red (deny, report). */
  destructive?: boolean;
  /** The device must be unlocked to run the action (APNs `authenticationRequired`). */
  authenticationRequired?: boolean;
}

/**
 * A rendered notification. Everything in `title`, `subtitle` and `body` may appear on a lock screen, so templates
 * put only lock-screen-safe fields there; details are fetched by the app over an authenticated call.
 */
export interface PushMessage {
  /** Notification id: the same for every device a notification goes to. */
  id: string;
  title?: string;
  subtitle?: string;
  body?: string;
  /** Action category (APNs `category`, FCM `click_action`, Web Push `actions`). */
  category?: string;
  actions?: readonly PushAction[];
  /** Groups notifications on the device (APNs `thread-id`, FCM `tag`). */
  threadId?: string;
  /**
   * Replaces an earlier notification with the same id on the device (APNs `apns-collapse-id` ≤ 64 bytes,
   * FCM `collapse_key`, Web Push `Topic` ≤ 32 base64url characters): used to withdraw a stale approval push.
   */
  collapseId?: string;
  urgency: Urgency;
  /** APNs interruption level; security alerts are `time-sensitive`. */
  interruptionLevel?: 'passive' | 'active' | 'time-sensitive' | 'critical';
  badge?: number;
  sound?: string;
  /** How long the push service keeps an undelivered message; 0 = deliver now or never. */
  ttlSeconds?: number;
  /** Wake the app in the background (APNs `content-available`). */
  contentAvailable?: boolean;
  /** Let a notification service extension change the content (APNs `mutable-content`). */
  mutableContent?: boolean;
  /** Custom key/value data for the app. String values only, as FCM requires. */
  data?: Readonly<Record<string, string>>;
  /**
   * Deep link the app opens when the notification is tapped: a self-service page (password change,
   * recertification) or the step to complete. Transports carry it the way apps look for it: `url` beside `aps` on
   * APNs, `data.url` on FCM (and `webpush.fcm_options.link` for an `https:` link), `url` and `data.url` in the Web
   * Push payload; it wins over a `url` key in `data` (a device's `data` still merges over both). Transports send
   * it as given; the engine only sets links that pass {@link isDeepLink} (`https:` or an app scheme you allow),
   * never `javascript:` or `data:`.
   */
  url?: string;
  /** Per-platform additions from the template; merged last, so they win. */
  platform?: {
    apns?: { pushType?: 'alert' | 'background' | 'voip'; topic?: string; payload?: Record<string, unknown> };
    fcm?: {
      channelId?: string;
      android?: Record<string, unknown>;
      apns?: Record<string, unknown>;
      webpush?: Record<string, unknown>;
    };
    webpush?: { icon?: string; badge?: string; tag?: string; requireInteraction?: boolean; url?: string };
  };
}

/** A Web Push subscription (Push API `PushSubscription.toJSON()`). */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** Where one device receives pushes. */
export type DeviceAddress =
  | { deviceId: string; platform: 'apns'; token: string; topic?: string; environment?: 'production' | 'sandbox' }
  | { deviceId: string; platform: 'fcm'; token: string }
  | { deviceId: string; platform: 'webpush'; subscription: WebPushSubscription };

/**
 * What makes a device reachable: its APNs or FCM token, or its Web Push endpoint. Unique per platform, so stores
 * index devices by it and the engine compares it to tell whether a device re-registered since a delivery was planned.
 *
 * @example
 * ```ts
 * deviceAddressKey({ deviceId: 'd', platform: 'fcm', token: 'abc' }); // 'abc'
 * ```
 */
export function deviceAddressKey(address: DeviceAddress): string {
  return address.platform === 'webpush' ? address.subscription.endpoint : address.token;
}

/**
 * The address of a device as a transport needs it, with nothing about its user, plus per-delivery `data` (an
 * action token). Stores build a delivery's target from the device's current address with it.
 *
 * @example
 * ```ts
 * deviceTarget(device, { actionToken: 't-1' }); // { deviceId, platform: 'fcm', token, data: { actionToken: 't-1' } }
 * ```
 */
export function deviceTarget(address: DeviceAddress, data?: Readonly<Record<string, string>>): DeviceTarget {
  let target: DeviceTarget;
  if (address.platform === 'webpush') {
    target = { deviceId: address.deviceId, platform: 'webpush', subscription: address.subscription };
  } else if (address.platform === 'apns') {
    target = { deviceId: address.deviceId, platform: 'apns', token: address.token };
    if (address.topic !== undefined) target.topic = address.topic;
    if (address.environment !== undefined) target.environment = address.environment;
  } else {
    target = { deviceId: address.deviceId, platform: 'fcm', token: address.token };
  }
  if (data !== undefined) target.data = data;
  return target;
}

/**
 * A device and what is specific to it in this send: `data` is merged over `message.data` (the action token is
 * bound to one device, so it differs per device).
 */
export type DeviceTarget = DeviceAddress & { data?: Readonly<Record<string, string>> };

/**
 * The outcome of sending to one device. Partial failure is data: one result per device, in input order.
 *
 * A failure carries two fields: `code`, always one of idrelay's {@link ErrorCode}s (`ERR_APNS_RATE_LIMITED`), which
 * code can `switch` on whatever the provider; and `reason`, the provider's own reason verbatim (APNs `Unregistered`,
 * firebase-admin `messaging/registration-token-not-registered: …`, Web Push `410 Gone`) or, when the provider never
 * answered, the transport's explanation (`no answer within 10000 ms`). `reason` is for people and logs; it is not a
 * stable vocabulary. `transportContract()` in `@idrelay/testkit` checks both.
 */
export type DeliveryResult =
  /** The push service accepted the message. */
  | { deviceId: string; status: 'delivered'; providerMessageId?: string }
  /** The token or subscription is gone; the device should be pruned. */
  | { deviceId: string; status: 'invalid-token'; code: ErrorCode; reason?: string }
  /** Try again later; `retryAfterMs` when the service said how long. */
  | { deviceId: string; status: 'retry-after'; code: ErrorCode; reason?: string; retryAfterMs?: number }
  /** Final refusal for this message (bad payload, auth, policy); retrying the same message will not help. */
  | { deviceId: string; status: 'rejected'; code: ErrorCode; reason?: string };

/** The four delivery statuses. */
export type DeliveryStatus = DeliveryResult['status'];
