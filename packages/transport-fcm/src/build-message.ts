import { type DeviceTarget, fitIdentifier, type PushMessage } from '@idrelay/core';
import type { Message } from 'firebase-admin/messaging';

/** FCM refuses messages over 4096 bytes (2048 for topics) with INVALID_ARGUMENT. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;

/**
 * Printable ASCII: what survives as an HTTP header once FCM forwards `apns.headers` and `webpush.headers` (Node and
 * most HTTP stacks write header values as Latin-1 and fail on control characters).
 */
const HEADER_SAFE = /^[\x20-\x7e]+$/;
/** RFC 8030 §5.4: a Web Push `Topic` is at most 32 characters of the URL- and filename-safe base64 alphabet. */
const TOPIC_ALPHABET = /^[A-Za-z0-9_-]+$/;
/**
 * APNs caps `apns-collapse-id` at 64 bytes; FCM documents no limit for `collapse_key` or the notification `tag`, so
 * they get the same bound, and one collapse id becomes the same value on every platform.
 */
const IDENTIFIER_BYTES = 64;

type Json = Record<string, unknown>;

const isPlainObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Template overrides win, key by key, without touching either input (the caller's message stays as it was). */
function merge(base: Json, over: Json | undefined): Json {
  if (!over) return base;
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

/** Drops `undefined` members so FCM never sees `"key": null` and the size check counts what is sent. */
function compact<T extends Json>(object: T): T {
  for (const key of Object.keys(object)) if (object[key] === undefined) delete object[key];
  return object;
}

/** An FCM message without its target. */
export type Base = Omit<Message, 'token' | 'topic' | 'condition' | 'fid'>;

/**
 * The parts of an FCM message that are the same for every device of one {@link PushMessage}: built once per message
 * object in a send, then combined with each request's token, data and lifetime by {@link messageFor}.
 */
export interface FcmMessageTemplate {
  /** The message without target, data or lifetime; the template's `platform.fcm` overrides already merged in. */
  readonly base: Base;
  readonly data: Readonly<Record<string, string>> | undefined;
  /** The message's `ttlSeconds`, whole and ≥ 0. */
  readonly ttlSeconds: number | undefined;
  /** The last base with a lifetime applied, reused while the lifetime and second stay the same (a fan-out). */
  timed?: { key: string; base: Base };
}

/**
 * Maps a rendered message onto FCM HTTP v1 (firebase-admin's camelCase `Message`): notification + data, `android`
 * (priority from urgency, collapse key, channel id), `apns` and `webpush` overrides; the template's `platform.fcm`
 * blocks are merged last. The deep link (`message.url`) goes into `data.url` over the message's data, and into
 * `webpush.fcmOptions.link` when it is `https:`. Identifiers are fitted with core's `fitIdentifier` (hashed when too long or unsafe, the
 * same way every time): `collapseKey`, `apns-collapse-id`, the notification `tag` and `thread-id` to 64 bytes, the
 * Web Push `Topic` to 32 base64url characters. The lifetime (`ttl`, `apns-expiration`, `TTL`) is added per request.
 *
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 * @example
 * ```ts
 * const template = buildTemplate(message);
 * const wire = messageFor(template, { deviceId: 'd', platform: 'fcm', token }, 300, Date.now());
 * ```
 */
export function buildTemplate(message: PushMessage): FcmMessageTemplate {
  const fcm = message.platform?.fcm;
  const hasAlert = message.title !== undefined || message.body !== undefined;
  const collapseId =
    message.collapseId === undefined
      ? undefined
      : fitIdentifier(message.collapseId, { maxBytes: IDENTIFIER_BYTES, allowed: HEADER_SAFE });
  const threadId =
    message.threadId === undefined ? undefined : fitIdentifier(message.threadId, { maxBytes: IDENTIFIER_BYTES });
  const androidNotification = compact({
    channelId: fcm?.channelId,
    tag: threadId,
    clickAction: message.category,
    sound: message.sound,
  });
  const android = compact({
    // Android has two priorities; RFC 8030 `normal` is not urgent enough to wake a dozing device.
    priority: message.urgency === 'high' ? 'high' : 'normal',
    collapseKey: collapseId,
    notification: Object.keys(androidNotification).length > 0 ? androidNotification : undefined,
  });
  const alert = compact({ subtitle: message.subtitle });
  const aps = compact({
    alert: Object.keys(alert).length > 0 ? alert : undefined,
    badge: message.badge,
    sound: message.sound,
    category: message.category,
    threadId,
    contentAvailable: message.contentAvailable || undefined,
    mutableContent: message.mutableContent || undefined,
  });
  // APNs: background pushes must use priority 5; 10 only for alerts the user should see now.
  const apnsPriority = !hasAlert || message.urgency === 'low' || message.urgency === 'very-low' ? '5' : '10';
  const apns = {
    headers: compact({ 'apns-priority': apnsPriority, 'apns-collapse-id': collapseId }),
    payload: { aps },
  };
  // RFC 8030 §5.3–5.4: the same vocabulary as ours for Urgency; Topic replaces an undelivered push with the same one.
  const topic =
    message.collapseId === undefined
      ? undefined
      : fitIdentifier(message.collapseId, { maxBytes: 32, allowed: TOPIC_ALPHABET });
  // FCM's web SDK opens `fcm_options.link` on click, and accepts only HTTPS there; every link also rides in `data`.
  const link = message.url?.toLowerCase().startsWith('https:') ? message.url : undefined;
  const webpush = compact({
    headers: compact({ Urgency: message.urgency, Topic: topic }),
    fcmOptions: link === undefined ? undefined : { link },
  });
  const base = compact({
    notification: hasAlert ? compact({ title: message.title, body: message.body }) : undefined,
    android: merge(android, fcm?.android),
    apns: merge(apns, fcm?.apns),
    webpush: merge(webpush, fcm?.webpush),
  }) as Base;
  const ttl = message.ttlSeconds;
  const data = message.url === undefined ? message.data : { ...message.data, url: message.url };
  return { base, data, ttlSeconds: ttl === undefined ? undefined : Math.max(0, Math.floor(ttl)) };
}

/**
 * `base` with the lifetime in all three places FCM carries it: Android `ttl`, `apns-expiration`, Web Push `TTL`.
 * The same object comes back while the lifetime and the second stay the same, so a fan-out shares one.
 */
export function timedBase(template: FcmMessageTemplate, lifetimeSeconds: number | undefined, nowMs: number): Base {
  if (lifetimeSeconds === undefined) return template.base;
  // 0 means "now or never" on every platform; otherwise APNs wants an absolute UNIX time.
  const expiration = lifetimeSeconds === 0 ? '0' : String(Math.floor(nowMs / 1000) + lifetimeSeconds);
  const key = `${lifetimeSeconds}/${expiration}`;
  if (template.timed?.key === key) return template.timed.base;
  const { base } = template;
  const apns = base.apns ?? {};
  const webpush = base.webpush ?? {};
  const timed: Base = {
    ...base,
    android: { ...base.android, ttl: lifetimeSeconds * 1000 },
    apns: { ...apns, headers: { ...apns.headers, 'apns-expiration': expiration } },
    webpush: { ...webpush, headers: { ...webpush.headers, TTL: String(lifetimeSeconds) } },
  };
  template.timed = { key, base: timed };
  return timed;
}

/**
 * One request's message: the template plus the device's token, `message.data` with the device's `data` merged over
 * it, and the lifetime (`lifetimeSeconds`, from `ttlSeconds` and the request's expiry) as Android `ttl`, APNs
 * `apns-expiration` and Web Push `TTL`. The lifetime wins over a template override of those three fields.
 *
 * @example
 * ```ts
 * messageFor(template, { deviceId: 'd', platform: 'fcm', token: 't', data: { actionToken: 'a' } }, 120, Date.now());
 * ```
 */
export function messageFor(
  template: FcmMessageTemplate,
  target: DeviceTarget & { token: string },
  lifetimeSeconds: number | undefined,
  nowMs: number,
): Message {
  return withTarget(template, timedBase(template, lifetimeSeconds, nowMs), target);
}

/** {@link messageFor} on a base already timed: lets a caller key a size cache on `base`. */
export function withTarget(
  template: FcmMessageTemplate,
  base: Base,
  target: DeviceTarget & { token: string },
): Message {
  const data = target.data ? { ...template.data, ...target.data } : template.data;
  return data ? { ...base, data, token: target.token } : { ...base, token: target.token };
}

/**
 * The bytes FCM's limit applies to: the message as JSON without its target.
 *
 * @example
 * ```ts
 * payloadBytes(messageFor(template, target, undefined, Date.now())) > FCM_MAX_PAYLOAD_BYTES; // refuse it
 * ```
 */
export function payloadBytes(message: Message): number {
  const { token: _token, ...payload } = message as Message & { token?: string };
  return Buffer.byteLength(JSON.stringify(payload));
}
