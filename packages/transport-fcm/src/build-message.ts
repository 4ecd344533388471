import type { DeviceTarget, PushMessage } from '@idrelay/core';
import type { Message } from 'firebase-admin/messaging';

/** FCM refuses messages over 4096 bytes (2048 for topics) with INVALID_ARGUMENT. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;

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

/**
 * The parts of an FCM message that are the same for every device of one {@link PushMessage}: built once per
 * send, then combined with each device's token and data by {@link messageFor}.
 */
export interface FcmMessageTemplate {
  readonly base: Omit<Message, 'token' | 'topic' | 'condition' | 'fid'>;
  readonly data: Readonly<Record<string, string>> | undefined;
}

/**
 * Maps a rendered message onto FCM HTTP v1 (firebase-admin's camelCase `Message`): notification + data, `android`
 * (priority from urgency, collapse key, channel id, TTL), `apns` and `webpush` overrides; the template's
 * `platform.fcm` blocks are merged last.
 *
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 */
export function buildTemplate(message: PushMessage, nowMs: number): FcmMessageTemplate {
  const fcm = message.platform?.fcm;
  const hasAlert = message.title !== undefined || message.body !== undefined;
  const ttl = message.ttlSeconds;

  const androidNotification = compact({
    channelId: fcm?.channelId,
    tag: message.threadId,
    clickAction: message.category,
    sound: message.sound,
  });
  const android = compact({
    // Android has two priorities; RFC 8030 `normal` is not urgent enough to wake a dozing device.
    priority: message.urgency === 'high' ? 'high' : 'normal',
    collapseKey: message.collapseId,
    ttl: ttl === undefined ? undefined : ttl * 1000,
    notification: Object.keys(androidNotification).length > 0 ? androidNotification : undefined,
  });

  const alert = compact({ subtitle: message.subtitle });
  const aps = compact({
    alert: Object.keys(alert).length > 0 ? alert : undefined,
    badge: message.badge,
    sound: message.sound,
    category: message.category,
    threadId: message.threadId,
    contentAvailable: message.contentAvailable || undefined,
    mutableContent: message.mutableContent || undefined,
  });
  // APNs: background pushes must use priority 5; 10 only for alerts the user should see now.
  const apnsPriority = !hasAlert || message.urgency === 'low' || message.urgency === 'very-low' ? '5' : '10';
  const apns = {
    headers: compact({
      'apns-priority': apnsPriority,
      'apns-collapse-id': message.collapseId,
      'apns-expiration': ttl === undefined ? undefined : ttl === 0 ? '0' : String(Math.floor(nowMs / 1000) + ttl),
    }),
    payload: { aps },
  };

  // RFC 8030 §5.2–5.3: the same vocabulary as ours for Urgency; TTL in seconds.
  const webpush = { headers: compact({ Urgency: message.urgency, TTL: ttl === undefined ? undefined : String(ttl) }) };

  const base = compact({
    notification: hasAlert ? compact({ title: message.title, body: message.body }) : undefined,
    android: merge(android, fcm?.android),
    apns: merge(apns, fcm?.apns),
    webpush: merge(webpush, fcm?.webpush),
  }) as FcmMessageTemplate['base'];
  return { base, data: message.data };
}

/** One device's message: the template plus its token and `message.data` with the device's `data` merged over it. */
export function messageFor(template: FcmMessageTemplate, target: DeviceTarget & { token: string }): Message {
  const data = target.data ? { ...template.data, ...target.data } : template.data;
  return data ? { ...template.base, data, token: target.token } : { ...template.base, token: target.token };
}

/** The bytes FCM's limit applies to: the message as JSON without its target. */
export function payloadBytes(message: Message): number {
  const { token: _token, ...payload } = message as Message & { token?: string };
  return Buffer.byteLength(JSON.stringify(payload));
}
