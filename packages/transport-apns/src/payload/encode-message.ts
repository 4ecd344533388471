import type { PushMessage } from '@idrelay/core';
import { fitIdentifier, IdrelayError } from '@idrelay/core';

/** The `apns-push-type` values idrelay sends. */
export type ApnsPushType = 'alert' | 'background' | 'voip';

/** A message turned into what APNs wants, computed once per send and shared by every device. */
export interface EncodedApnsMessage {
  pushType: ApnsPushType;
  /** `apns-topic` unless the device names its own: the message's `platform.apns.topic` or the default topic. */
  topic: string;
  /** Request headers besides `:path`, `authorization`, `apns-topic` and `apns-expiration`. */
  headers: Readonly<Record<string, string>>;
  /** The message's `ttlSeconds` (whole seconds, ≥ 0); `apns-expiration` is set per request from it and the request's expiry. */
  ttlSeconds: number | undefined;
  /**
   * The JSON body for one device: `message.data` with the device's `data` merged over it.
   *
   * @throws IdrelayError `ERR_APNS_PAYLOAD_TOO_LARGE` when the body is over {@link payloadLimit} bytes.
   */
  body(deviceData?: Readonly<Record<string, string>>): string;
}

/** Options of {@link encodeApnsMessage}. */
export interface EncodeApnsOptions {
  /** The bundle id used when neither the message nor the device names a topic. */
  defaultTopic: string;
}

/**
 * Printable ASCII: what an HTTP/2 header value carries intact. Node writes header values as Latin-1 (so `€` would
 * arrive as another byte) and fails the stream on a NUL, so anything else in a collapse id is hashed instead.
 */
export const HEADER_SAFE = /^[\x20-\x7e]+$/;

/** APNs: `apns-collapse-id` "must not exceed 64 bytes"; the same bound is used for `thread-id`. */
export const APNS_IDENTIFIER_BYTES = 64;

/**
 * The `apns-expiration` header for a push that may live `lifetimeSeconds` more: `0` ("deliver now or never") for a
 * lifetime under one second, otherwise the absolute UNIX time in seconds.
 *
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @example
 * ```ts
 * apnsExpiration(300, Date.UTC(2026, 10, 23, 12)); // '1795435500'
 * apnsExpiration(0, Date.now()); // '0'
 * ```
 */
export function apnsExpiration(lifetimeSeconds: number, nowMs: number): string {
  return lifetimeSeconds <= 0 ? '0' : String(Math.floor(nowMs / 1000) + lifetimeSeconds);
}

/**
 * APNs payload limits in bytes: 4096, and 5120 for VoIP.
 *
 * @see https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification
 * @example
 * ```ts
 * payloadLimit('alert'); // 4096
 * payloadLimit('voip'); // 5120
 * ```
 */
export function payloadLimit(pushType: ApnsPushType): number {
  return pushType === 'voip' ? 5120 : 4096;
}

/**
 * Maps a rendered {@link PushMessage} onto an APNs request: the `aps` dictionary (alert, badge, sound, category,
 * thread-id, interruption-level, mutable-content, content-available), custom data and the deep link (`url`) at the
 * top level, and the
 * `apns-push-type`, `apns-priority` and `apns-collapse-id` headers. `apns-expiration` depends on when each request
 * goes out, so the transport adds it per request ({@link apnsExpiration}).
 *
 * Priority: 10 for `high` and `normal`, 5 for `low` and `very-low`, and always 5 for background pushes (Apple
 * rejects or throttles background pushes sent at 10). A message with no alert text and `contentAvailable` is a
 * background push.
 *
 * Identifiers are fitted, never refused: a `collapseId` over 64 bytes, or with characters outside printable ASCII,
 * is sent as a base64url SHA-256 of it (core's `fitIdentifier`), so every push of one notification still carries the
 * same `apns-collapse-id`; `threadId` is fitted to 64 bytes the same way.
 *
 * @see https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @example
 * ```ts
 * const encoded = encodeApnsMessage(message, { defaultTopic: 'com.example.authenticator' });
 * const body = encoded.body({ actionToken: 'tok-1' });
 * ```
 */
export function encodeApnsMessage(message: PushMessage, options: EncodeApnsOptions): EncodedApnsMessage {
  const apns = message.platform?.apns;
  const hasAlert = message.title !== undefined || message.subtitle !== undefined || message.body !== undefined;
  const pushType: ApnsPushType = apns?.pushType ?? (!hasAlert && message.contentAvailable ? 'background' : 'alert');
  let topic = apns?.topic ?? options.defaultTopic;
  // VoIP pushes go to the `<bundle id>.voip` topic (Apple: apns-topic for the voip push type).
  if (pushType === 'voip' && !topic.endsWith('.voip')) topic = `${topic}.voip`;

  const low = message.urgency === 'low' || message.urgency === 'very-low';
  const headers: Record<string, string> = {
    'apns-push-type': pushType,
    'apns-priority': pushType === 'background' || low ? '5' : '10',
  };
  if (message.collapseId !== undefined) {
    headers['apns-collapse-id'] = fitIdentifier(message.collapseId, {
      maxBytes: APNS_IDENTIFIER_BYTES,
      allowed: HEADER_SAFE,
    });
  }
  const ttlSeconds = message.ttlSeconds === undefined ? undefined : Math.max(0, Math.floor(message.ttlSeconds));

  const aps = buildAps(message);
  const extra = apns?.payload;
  const link = message.url === undefined ? undefined : { url: message.url };
  const limit = payloadLimit(pushType);
  const serialise = (deviceData?: Readonly<Record<string, string>>): string => {
    // Custom data sits beside `aps` (Apple's convention), the deep link as `url` over the message's data, the
    // device's data over both; `aps` and the template's `platform.apns.payload` win.
    const payload: Record<string, unknown> = { ...message.data, ...link, ...deviceData, ...extra };
    const extraAps = extra?.aps;
    payload.aps = isRecord(extraAps) ? { ...aps, ...extraAps } : aps;
    const json = JSON.stringify(payload);
    // Cheap pre-check: UTF-8 is never shorter than the UTF-16 length, so only long strings need counting.
    if (json.length * 3 > limit) {
      const bytes = Buffer.byteLength(json);
      if (bytes > limit) {
        throw new IdrelayError(
          'ERR_APNS_PAYLOAD_TOO_LARGE',
          `The APNs payload is ${bytes} bytes; the limit is ${limit}.`,
          {
            details: { bytes, limit, pushType },
          },
        );
      }
    }
    return json;
  };
  let shared: string | undefined;

  return {
    pushType,
    topic,
    headers,
    ttlSeconds,
    body(deviceData) {
      if (deviceData !== undefined) return serialise(deviceData);
      shared ??= serialise();
      return shared;
    },
  };
}

function buildAps(message: PushMessage): Record<string, unknown> {
  const aps: Record<string, unknown> = {};
  if (message.title !== undefined || message.subtitle !== undefined || message.body !== undefined) {
    const alert: Record<string, string> = {};
    if (message.title !== undefined) alert.title = message.title;
    if (message.subtitle !== undefined) alert.subtitle = message.subtitle;
    if (message.body !== undefined) alert.body = message.body;
    aps.alert = alert;
  }
  if (message.badge !== undefined) aps.badge = message.badge;
  if (message.sound !== undefined) aps.sound = message.sound;
  // The app registers the action buttons under this category identifier (UNNotificationCategory).
  if (message.category !== undefined) aps.category = message.category;
  if (message.threadId !== undefined) {
    aps['thread-id'] = fitIdentifier(message.threadId, { maxBytes: APNS_IDENTIFIER_BYTES });
  }
  if (message.interruptionLevel !== undefined) aps['interruption-level'] = message.interruptionLevel;
  if (message.mutableContent) aps['mutable-content'] = 1;
  if (message.contentAvailable) aps['content-available'] = 1;
  return aps;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
