import type { ECDH } from 'node:crypto';
import { decryptWebPushBody } from '../webpush/decrypt.js';
import type { WirePush } from './push-channel.js';

/** A push as the app sees it after the platform delivered it (and, for Web Push, the browser decrypted it). */
export interface ReceivedPush {
  platform: 'apns' | 'fcm' | 'webpush';
  /** `nid`: the notification id (docs/protocol.md §3). */
  notificationId: string | undefined;
  /** `tok`: the action token, present when the push can be answered. */
  token: string | undefined;
  /** The custom data as strings (`type`, `flowId`, `verificationId`, `url`, …). */
  data: Readonly<Record<string, string>>;
  /** The visible text, if the push shows any. */
  title: string | undefined;
  body: string | undefined;
  /** The push service's clock when it accepted the push. */
  receivedAt: number;
  /** The payload as the app got it: APNs JSON, the FCM message, the decrypted Web Push JSON. */
  raw: unknown;
}

const strings = (record: unknown, skip: readonly string[] = []): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof record !== 'object' || record === null) return out;
  for (const [key, value] of Object.entries(record)) {
    if (skip.includes(key) || value === undefined || value === null) continue;
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
};

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/**
 * Reads a delivered push the way the app would: APNs custom keys beside `aps`, FCM `message.data`, and the Web
 * Push body decrypted with the subscription's private key and auth secret (RFC 8291 §3.4) then parsed as the
 * service worker's JSON.
 *
 * @throws {DecryptError} when a Web Push body does not open with the subscription's keys; `TypeError` when it
 *   opens to something other than JSON.
 */
export function readPush(wire: WirePush, webPushKeys?: { ecdh: ECDH; auth: Buffer }): ReceivedPush {
  let raw: unknown;
  let data: Record<string, string>;
  let title: string | undefined;
  let body: string | undefined;
  if (wire.platform === 'apns') {
    raw = wire.payload;
    const payload = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    data = strings(payload, ['aps']);
    const alert = (payload.aps as { alert?: unknown } | undefined)?.alert;
    if (typeof alert === 'string') body = alert;
    else if (typeof alert === 'object' && alert !== null) {
      title = text((alert as Record<string, unknown>).title);
      body = text((alert as Record<string, unknown>).body);
    }
  } else if (wire.platform === 'fcm') {
    raw = wire.message;
    data = strings(wire.message.data);
    const notification = wire.message.notification as Record<string, unknown> | undefined;
    title = text(notification?.title);
    body = text(notification?.body);
  } else {
    if (webPushKeys === undefined) throw new TypeError('a Web Push body needs the subscription keys to decrypt');
    const plaintext = decryptWebPushBody(Buffer.from(wire.body), webPushKeys.ecdh, webPushKeys.auth);
    try {
      raw = JSON.parse(plaintext.toString('utf8')) as unknown;
    } catch {
      throw new TypeError('the decrypted Web Push message is not the JSON an idrelay service worker reads');
    }
    const payload = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    data = strings(payload.data);
    title = text(payload.title);
    body = text(payload.body);
  }
  return {
    platform: wire.platform,
    notificationId: data.nid,
    token: data.tok,
    data,
    title,
    body,
    receivedAt: wire.receivedAt,
    raw,
  };
}
