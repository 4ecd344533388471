import { setMaxListeners } from 'node:events';
import type { DeliveryResult, DeviceTarget, PushMessage, PushRequest, SendOptions, Transport } from '@idrelay/core';
import {
  backoffDelay,
  IdrelayError,
  isIdrelayError,
  parseRetryAfter,
  silentLogger,
  sleep,
  systemClock,
} from '@idrelay/core';
import { createProviderTokenSource } from './auth/provider-token.js';
import { post } from './connection/post.js';
import { createSessionPool, type SessionPool } from './connection/session-pool.js';
import { APNS_HOSTS, type ApnsEnvironment, type ApnsTransportOptions } from './options.js';
import { apnsExpiration, type EncodedApnsMessage, encodeApnsMessage, HEADER_SAFE } from './payload/encode-message.js';
import { hasExpired, lifetimeSeconds } from './payload/lifetime.js';
import { mapApnsResponse } from './results/map-response.js';

type ApnsDevice = Extract<DeviceTarget, { platform: 'apns' }>;

/**
 * Creates a {@link Transport} for Apple Push Notification service over HTTP/2 with token (`.p8`) authentication.
 *
 * It keeps a few long-lived HTTP/2 connections per host, signs one provider JWT and reuses it on all of them for
 * 50 minutes (Apple: refresh no more than once every 20 minutes and no less than once every 60), bounds requests in
 * flight, times out each request, and retries 429, 5xx and network failures with jittered backoff that honours
 * `Retry-After`, within a budget; past it, a device's result is `retry-after` and the engine's outbox takes over.
 *
 * `sendEach` takes a message per device (personalised text) and sends them all on the pooled connections;
 * `send` is `sendEach` with one message, and requests sharing a message object encode it once. Each request's
 * `apns-expiration` comes from its remaining lifetime (the smaller of `ttlSeconds` and what is left until
 * `expiresAt`), judged when it goes out; an expired one is refused with `ERR_DELIVERY_EXPIRED`. `priority: 'high'`
 * sends take the next free stream ahead of waiting `normal` ones. Collapse and thread ids are fitted to 64 bytes.
 *
 * Results: 200 → `delivered` with the `apns-id`; 410 and `BadDeviceToken`/`DeviceTokenNotForTopic` →
 * `invalid-token`; 429/5xx/timeouts/network → `retry-after`; `ExpiredProviderToken` → one re-sign and retry;
 * anything else → `rejected`. `code` is always an idrelay error code and `reason` APNs' own reason
 * (see {@link mapApnsResponse}). Oversized payloads are refused before sending.
 *
 * @throws IdrelayError `ERR_APNS_KEY_INVALID` for a key that is not P-256, `ERR_TRANSPORT_CONFIG` for bad options.
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { createApnsTransport } from '@idrelay/transport-apns';
 *
 * const apns = createApnsTransport({
 *   signingKey: readFileSync('AuthKey_ABC123DEFG.p8', 'utf8'),
 *   teamId: 'DEF123GHIJ',
 *   keyId: 'ABC123DEFG',
 *   defaultTopic: 'com.example.authenticator',
 * });
 * const [result] = await apns.send(message, [{ deviceId: 'iphone-1', platform: 'apns', token }]);
 * const results = await apns.sendEach(
 *   users.map((user) => ({ message: renderFor(user), target: user.device, expiresAt: Date.now() + 120_000 })),
 *   { priority: 'high' },
 * );
 * await apns.close();
 * ```
 */
export function createApnsTransport(options: ApnsTransportOptions): Transport {
  checkOptions(options);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const tokens = createProviderTokenSource({
    signingKey: options.signingKey,
    teamId: options.teamId,
    keyId: options.keyId,
    clock,
    ...(options.tokenRefreshMs === undefined ? {} : { refreshAfterMs: options.tokenRefreshMs }),
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const retry = {
    attempts: options.retry?.attempts ?? 3,
    maxDelayMs: options.retry?.maxDelayMs ?? 5000,
    budgetMs: options.retry?.budgetMs ?? 10_000,
  };
  const backoff = { baseDelayMs: options.retry?.baseDelayMs ?? 250, maxDelayMs: retry.maxDelayMs };
  const random = options.random ?? Math.random;
  const defaultEnvironment = options.environment ?? 'production';
  const pools = new Map<string, SessionPool>();
  let closed = false;

  const poolFor = (environment: ApnsEnvironment | undefined): SessionPool => {
    const env = environment ?? defaultEnvironment;
    const origin = (typeof options.origin === 'string' ? options.origin : options.origin?.[env]) ?? APNS_HOSTS[env];
    let pool = pools.get(origin);
    if (pool === undefined) {
      pool = createSessionPool({
        origin,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        connections: options.connections ?? 4,
        streamsPerConnection: options.streamsPerConnection ?? 100,
        concurrency: options.concurrency ?? 256,
        pingIntervalMs: options.pingIntervalMs ?? 600_000,
      });
      pools.set(origin, pool);
    }
    return pool;
  };

  async function deliver(
    encoded: EncodedApnsMessage,
    device: ApnsDevice,
    expiresAt: number | undefined,
    signal: AbortSignal | undefined,
    priority: 'high' | 'normal',
  ): Promise<DeliveryResult> {
    const { deviceId } = device;
    let body: string;
    try {
      body = encoded.body(device.data);
    } catch (error) {
      if (isIdrelayError(error)) return { deviceId, status: 'rejected', code: error.code, reason: error.message };
      throw error;
    }
    let topic = device.topic ?? encoded.topic;
    if (encoded.pushType === 'voip' && !topic.endsWith('.voip')) topic = `${topic}.voip`;
    if (!HEADER_SAFE.test(topic)) {
      // A control character would fail the HTTP/2 stream, which looks like a network error and is retried forever.
      return {
        deviceId,
        status: 'rejected',
        code: 'ERR_INVALID_ARGUMENT',
        reason: 'apns-topic is not printable ASCII',
      };
    }
    const headers: Record<string, string> = {
      ':method': 'POST',
      ':path': `/3/device/${encodeURIComponent(device.token)}`,
      'apns-topic': topic,
      ...encoded.headers,
    };
    const pool = poolFor(device.environment);
    const started = performance.now();
    let reSigned = false;
    for (let attempt = 1; ; attempt++) {
      let lease: Awaited<ReturnType<SessionPool['acquire']>>;
      try {
        lease = await pool.acquire(signal, priority);
      } catch {
        return signal?.aborted
          ? { deviceId, status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT', reason: 'send aborted' }
          : { deviceId, status: 'retry-after', code: 'ERR_TRANSPORT_CLOSED', reason: 'transport closed' };
      }
      // Expiry is judged when the request is about to go out: a push may have waited for a slot, or to be retried.
      const now = clock.now();
      if (hasExpired(expiresAt, now)) {
        lease.release(false);
        return expired(deviceId);
      }
      const lifetime = lifetimeSeconds(encoded.ttlSeconds, expiresAt, now);
      if (lifetime !== undefined) headers['apns-expiration'] = apnsExpiration(lifetime, now);
      const token = tokens.current();
      headers.authorization = `bearer ${token}`;
      const outcome = await post(lease.session, headers, body, timeoutMs, signal);
      lease.release(outcome.kind === 'response' && outcome.status !== 403);

      let result: DeliveryResult;
      if (outcome.kind === 'response' && outcome.status === 200) {
        return outcome.apnsId === undefined
          ? { deviceId, status: 'delivered' }
          : { deviceId, status: 'delivered', providerMessageId: outcome.apnsId };
      }
      if (outcome.kind === 'response') {
        const reason = outcome.body?.reason;
        if (outcome.status === 403 && reason === 'ExpiredProviderToken' && !reSigned) {
          reSigned = true;
          // A young token rejected as expired means a skewed clock: re-signing would only earn
          // TooManyProviderTokenUpdates, so the device gets `rejected` instead.
          if (tokens.refreshAfterExpiry(token) !== undefined) {
            attempt--;
            continue;
          }
        }
        result = mapApnsResponse(deviceId, {
          status: outcome.status,
          ...(outcome.apnsId === undefined ? {} : { apnsId: outcome.apnsId }),
          ...(reason === undefined ? {} : { reason }),
          ...(outcome.body?.timestamp === undefined ? {} : { timestamp: outcome.body.timestamp }),
          ...optionalRetryAfter(parseRetryAfter(outcome.retryAfter, clock.now())),
        });
        if (result.status !== 'retry-after') return result;
      } else if (outcome.kind === 'network') {
        result = { deviceId, status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK', reason: outcome.error.message };
      } else {
        // Not retried here: APNs may already have the message, and the outbox owns what happens next.
        const reason = outcome.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : 'send aborted';
        return { deviceId, status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT', reason };
      }

      const asked = result.retryAfterMs;
      const delay = Math.max(backoffDelay(attempt, backoff, random), asked ?? 0);
      if (
        attempt >= retry.attempts ||
        closed ||
        (asked !== undefined && asked > retry.maxDelayMs) ||
        performance.now() - started + delay > retry.budgetMs
      ) {
        return result;
      }
      logger.debug({ deviceId, attempt, delayMs: delay, code: result.code }, 'apns: retrying');
      if (!(await sleep(delay, { signal }))) {
        return {
          deviceId,
          status: 'retry-after',
          code: 'ERR_TRANSPORT_TIMEOUT',
          reason: `send aborted after ${result.reason ?? result.code}`,
        };
      }
    }
  }

  async function sendEach(requests: readonly PushRequest[], sendOptions?: SendOptions): Promise<DeliveryResult[]> {
    if (closed) throw new IdrelayError('ERR_TRANSPORT_CLOSED', 'The APNs transport was closed.');
    const now = clock.now();
    const priority = sendOptions?.priority === 'high' ? 'high' : 'normal';
    // One encoding per message object: a fan-out of one message to 10 000 devices encodes (and serialises) once.
    const encodings = new Map<PushMessage, EncodedApnsMessage | IdrelayError>();
    const encode = (message: PushMessage): EncodedApnsMessage | IdrelayError => {
      let encoded = encodings.get(message);
      if (encoded === undefined) {
        try {
          encoded = encodeApnsMessage(message, { defaultTopic: options.defaultTopic });
        } catch (error) {
          if (!isIdrelayError(error)) throw error;
          encoded = error;
        }
        encodings.set(message, encoded);
      }
      return encoded;
    };
    const outer = sendOptions?.signal;
    // One listener on the caller's signal, fanned out through our own: a batch of thousands of devices would
    // otherwise hang thousands of listeners on it (and trip Node's MaxListenersExceededWarning).
    const inner = outer === undefined ? undefined : new AbortController();
    const forward = () => inner?.abort(outer?.reason);
    if (inner !== undefined) {
      setMaxListeners(0, inner.signal);
      if (outer?.aborted) forward();
      else outer?.addEventListener('abort', forward, { once: true });
    }
    try {
      return await Promise.all(
        requests.map(({ message, target, expiresAt }): DeliveryResult | Promise<DeliveryResult> => {
          if (target.platform !== 'apns') {
            return {
              deviceId: target.deviceId,
              status: 'rejected',
              code: 'ERR_TRANSPORT_PLATFORM_MISMATCH',
              reason: `a ${target.platform} device was handed to the APNs transport`,
            };
          }
          if (hasExpired(expiresAt, now)) return expired(target.deviceId);
          const encoded = encode(message);
          if (encoded instanceof IdrelayError) {
            return { deviceId: target.deviceId, status: 'rejected', code: encoded.code, reason: encoded.message };
          }
          return deliver(encoded, target, expiresAt, inner?.signal, priority);
        }),
      );
    } finally {
      outer?.removeEventListener('abort', forward);
    }
  }

  return {
    platform: 'apns',
    name: options.name ?? `apns:${options.defaultTopic}`,
    send(message, targets, sendOptions) {
      return sendEach(
        targets.map((target) => ({ message, target })),
        sendOptions,
      );
    },
    sendEach,
    async close() {
      closed = true;
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close()));
    },
  };
}

function expired(deviceId: string): DeliveryResult {
  return { deviceId, status: 'rejected', code: 'ERR_DELIVERY_EXPIRED', reason: 'expired before it could be sent' };
}

function optionalRetryAfter(ms: number | undefined): { retryAfterMs?: number } {
  return ms === undefined ? {} : { retryAfterMs: ms };
}

function checkOptions(options: ApnsTransportOptions): void {
  const problems: string[] = [];
  for (const key of ['teamId', 'keyId', 'defaultTopic'] as const) {
    if (typeof options[key] !== 'string' || !HEADER_SAFE.test(options[key])) {
      problems.push(`${key} must be a non-empty string of printable ASCII`);
    }
  }
  for (const key of ['connections', 'streamsPerConnection', 'concurrency', 'timeoutMs'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0))
      problems.push(`${key} must be a positive integer`);
  }
  const origins = typeof options.origin === 'string' ? [options.origin] : Object.values(options.origin ?? {});
  for (const origin of origins) {
    if (!/^https:\/\/[^/]+$/.test(origin)) problems.push(`origin ${origin} must look like https://host[:port]`);
  }
  if (problems.length > 0) {
    throw new IdrelayError('ERR_TRANSPORT_CONFIG', `Invalid APNs transport options: ${problems.join('; ')}.`, {
      details: { problems },
    });
  }
}
