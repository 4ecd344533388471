import {
  type DeliveryResult,
  type DeviceTarget,
  IdrelayError,
  type PushMessage,
  type PushRequest,
  type SendOptions,
  silentLogger,
  systemClock,
  type Transport,
} from '@idrelay/core';
import { createHttp1Pool } from './delivery/http1-pool.js';
import { mapResponse } from './delivery/map-response.js';
import { type PostOutcome, postPush } from './delivery/post.js';
import { decodeSubscriberKeys, encryptWebPushPayload } from './encryption/encrypt.js';
import type { WebPushTransportOptions } from './options.js';
import { buildPayload, MAX_PLAINTEXT_BYTES, toTopic, type WebPushPayload } from './payload/build-payload.js';
import { hasExpired, lifetimeSeconds } from './payload/lifetime.js';
import { parseVapidKeys } from './vapid/vapid-keys.js';
import { createVapidSigner } from './vapid/vapid-signer.js';

// Checked at runtime too: both end up in a request header.
const URGENCIES = new Set<unknown>(['very-low', 'low', 'normal', 'high']);

/**
 * Creates a Web Push {@link Transport}: each message is rendered to JSON, encrypted per subscription with RFC 8291
 * `aes128gcm`, and POSTed to the subscription's endpoint (RFC 8030) with `TTL`, `Urgency`, `Topic` (from
 * `collapseId`) and an RFC 8292 VAPID `Authorization` that is signed once per push-service origin and reused until
 * shortly before it expires. Requests share one keep-alive agent with bounded sockets.
 *
 * `sendEach` takes a message per device (personalised text); `send` is `sendEach` with one message, and requests
 * sharing a message object render it once. `TTL` is each request's remaining lifetime (the smaller of `ttlSeconds`
 * and what is left until `expiresAt`), judged when it is written; an expired one is refused with
 * `ERR_DELIVERY_EXPIRED`. `priority: 'high'` requests wait for a connection ahead of `normal` ones.
 *
 * Results per device: 201 → delivered; 404/410 → invalid-token; 429, 5xx, network errors and timeouts →
 * retry-after (with `retryAfterMs` from `Retry-After`); 403 → rejected `ERR_WEBPUSH_VAPID_REJECTED`; 413 and other
 * 4xx → rejected. A plaintext over 3993 bytes is refused before sending (`ERR_WEBPUSH_PAYLOAD_TOO_LARGE`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8030 · https://www.rfc-editor.org/rfc/rfc8291 · https://www.rfc-editor.org/rfc/rfc8292
 * @example
 * ```ts
 * const webpush = createWebPushTransport({
 *   vapid: { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY, subject: 'mailto:ops@example.com' },
 * });
 * const [result] = await webpush.send(
 *   { id: 'n1', title: 'Approve access?', urgency: 'high', collapseId: 'req-42' },
 *   [{ deviceId: 'browser-1', platform: 'webpush', subscription }],
 * );
 * const personal = await webpush.sendEach(
 *   users.map((user) => ({ message: renderFor(user), target: user.device, expiresAt: Date.now() + 120_000 })),
 * );
 * await webpush.close();
 * ```
 */
export function createWebPushTransport(options: WebPushTransportOptions): Transport {
  const keys = parseVapidKeys(options.vapid);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const maxSockets = options.maxSockets ?? 64;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const defaultTtl = options.defaultTtlSeconds ?? 86_400;
  if (!Number.isInteger(maxSockets) || maxSockets < 1) {
    throw new IdrelayError('ERR_TRANSPORT_CONFIG', 'maxSockets must be a positive integer');
  }
  if (!(timeoutMs > 0)) throw new IdrelayError('ERR_TRANSPORT_CONFIG', 'timeoutMs must be positive');
  const signer = createVapidSigner({
    keys,
    clock,
    ...(options.vapidExpirySeconds === undefined ? {} : { expirySeconds: options.vapidExpirySeconds }),
  });
  const ca = options.ca as string | Buffer | (string | Buffer)[] | undefined;
  // With no agent given, requests go through our lean HTTP/1.1 pool; a given agent (a proxy, say) goes through node:https.
  const agent = options.agent;
  const pool = agent ? undefined : createHttp1Pool({ maxSockets, ...(ca === undefined ? {} : { ca }) });
  let closed = false;

  /** Per message object, what every one of its requests shares: the payload without device data, and headers. */
  interface Prepared {
    base: WebPushPayload;
    baseJson: string;
    topic: string | undefined;
    ttlSeconds: number;
  }
  const prepare = (message: PushMessage): Prepared | string => {
    const ttl = message.ttlSeconds ?? defaultTtl;
    // Checked at runtime too: both end up in a request header.
    if (!URGENCIES.has(message.urgency) || !(Number.isInteger(ttl) && ttl >= 0)) {
      return 'urgency or ttlSeconds is invalid';
    }
    const base = buildPayload(message);
    return {
      base,
      baseJson: JSON.stringify(base),
      topic: message.collapseId === undefined ? undefined : toTopic(message.collapseId),
      ttlSeconds: ttl,
    };
  };

  async function sendOne(
    message: PushMessage,
    prepared: Prepared,
    target: Extract<DeviceTarget, { platform: 'webpush' }>,
    expiresAt: number | undefined,
    signal: AbortSignal | undefined,
    priority: 'high' | 'normal',
  ): Promise<DeliveryResult> {
    const deviceId = target.deviceId;
    const { base } = prepared;
    const json = target.data ? JSON.stringify({ ...base, data: { ...base.data, ...target.data } }) : prepared.baseJson;
    const plaintext = Buffer.from(json, 'utf8');
    if (plaintext.length > MAX_PLAINTEXT_BYTES) {
      const reason = `plaintext of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT_BYTES}`;
      return { deviceId, status: 'rejected', code: 'ERR_WEBPUSH_PAYLOAD_TOO_LARGE', reason };
    }
    const invalid = (reason: string): DeliveryResult => ({
      deviceId,
      status: 'invalid-token',
      code: 'ERR_WEBPUSH_SUBSCRIPTION_INVALID',
      reason,
    });
    const subscription = target.subscription;
    let url: URL;
    try {
      url = new URL(subscription?.endpoint);
    } catch {
      return invalid('endpoint is not a URL');
    }
    if (url.protocol !== 'https:') return invalid('endpoint must use https (RFC 8030 §8)');
    const subscriberKeys = decodeSubscriberKeys(subscription.keys);
    if (typeof subscriberKeys === 'string') return invalid(subscriberKeys);
    let body: Buffer;
    try {
      body = encryptWebPushPayload(plaintext, subscriberKeys);
    } catch {
      return invalid('keys.p256dh is not a point on P-256');
    }
    const authorization = signer.authorization(url.origin);
    const { topic } = prepared;
    // RFC 8030 §5.2: TTL is what the service may keep the push; it shrinks to what is left before `expiresAt`,
    // judged when the request is written (it may have waited for a connection).
    const ttlNow = (): number | undefined => {
      const now = clock.now();
      return hasExpired(expiresAt, now) ? undefined : lifetimeSeconds(prepared.ttlSeconds, expiresAt, now);
    };
    let outcome: PostOutcome;
    if (pool) {
      const head = () => {
        const ttl = ttlNow();
        if (ttl === undefined) return undefined;
        return (
          `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nTTL: ${ttl}\r\nUrgency: ${message.urgency}\r\n` +
          `${topic === undefined ? '' : `Topic: ${topic}\r\n`}Content-Encoding: aes128gcm\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nAuthorization: ${authorization}\r\n\r\n`
        );
      };
      outcome = await pool.post(url, head, body, timeoutMs, signal, priority);
    } else {
      const ttl = ttlNow();
      if (ttl === undefined) return expired(deviceId);
      const headers: Record<string, string | number> = {
        TTL: ttl,
        Urgency: message.urgency,
        'Content-Encoding': 'aes128gcm',
        'Content-Type': 'application/octet-stream',
        'Content-Length': body.length,
        Authorization: authorization,
      };
      if (topic !== undefined) headers.Topic = topic;
      outcome = await postPush({ url, headers, body, agent: agent!, timeoutMs, signal });
    }
    if (!outcome.ok) {
      if (outcome.code === 'ERR_DELIVERY_EXPIRED') return expired(deviceId);
      logger.debug({ deviceId, code: outcome.code, reason: outcome.reason }, 'webpush: no answer');
      return { deviceId, status: 'retry-after', code: outcome.code, reason: outcome.reason };
    }
    return mapResponse(
      deviceId,
      outcome.status,
      { location: outcome.location, 'retry-after': outcome.retryAfter },
      outcome.body,
      clock.now(),
    );
  }

  async function sendEach(requests: readonly PushRequest[], sendOptions: SendOptions = {}) {
    if (closed) throw new IdrelayError('ERR_TRANSPORT_CLOSED', `transport ${options.name ?? 'webpush'} is closed`);
    const now = clock.now();
    const priority = sendOptions.priority === 'high' ? 'high' : 'normal';
    // One rendering per message object: a fan-out of one message renders and serialises it once.
    const prepared = new Map<PushMessage, Prepared | string>();
    const results = new Array<DeliveryResult>(requests.length);
    let next = 0;
    const one = (request: PushRequest): DeliveryResult | Promise<DeliveryResult> => {
      const { message, target, expiresAt } = request;
      const deviceId = target.deviceId;
      if (target.platform !== 'webpush') {
        const reason = `a ${target.platform} device was handed to the Web Push transport`;
        return { deviceId, status: 'rejected', code: 'ERR_TRANSPORT_PLATFORM_MISMATCH', reason };
      }
      if (hasExpired(expiresAt, now)) return expired(deviceId);
      let shared = prepared.get(message);
      if (shared === undefined) {
        shared = prepare(message);
        prepared.set(message, shared);
      }
      if (typeof shared === 'string')
        return { deviceId, status: 'rejected', code: 'ERR_INVALID_ARGUMENT', reason: shared };
      return sendOne(message, shared, target, expiresAt, sendOptions.signal, priority);
    };
    // Bounded so a batch of 10 000 devices encrypts as sockets free up instead of all at once.
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        results[i] = await one(requests[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxSockets, requests.length) }, worker));
    return results;
  }

  return {
    platform: 'webpush',
    name: options.name ?? 'webpush',
    send(message: PushMessage, targets: readonly DeviceTarget[], sendOptions?: SendOptions) {
      return sendEach(
        targets.map((target) => ({ message, target })),
        sendOptions,
      );
    },
    sendEach,
    async close() {
      if (closed) return;
      closed = true;
      pool?.close();
    },
  };
}

function expired(deviceId: string): DeliveryResult {
  return { deviceId, status: 'rejected', code: 'ERR_DELIVERY_EXPIRED', reason: 'expired before it could be sent' };
}
