import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import {
  type Clock,
  type DeliveryResult,
  type ErrorCode,
  IdrelayError,
  type Logger,
  type PushMessage,
  type PushRequest,
  type SendOptions,
  silentLogger,
  sleep,
  systemClock,
  type Transport,
} from '@idrelay/core';
import type { App, Credential } from 'firebase-admin/app';
import type { Messaging } from 'firebase-admin/messaging';
import { buildTemplate, type FcmMessageTemplate } from './build-message.js';
import { type FcmServiceAccount, loadServiceAccount } from './credentials.js';
import { type DeliverContext, deliverBatch, expired, type PendingRequest, runLimited } from './deliver.js';
import { hasExpired } from './lifetime.js';
import { type FcmRetryOptions, retryPolicy } from './retry-policy.js';
import { disableSdkRetries } from './sdk-retries.js';

/** firebase-admin's `sendEach` limit. */
const MAX_BATCH = 500;

/** Options of {@link createFcmTransport}. */
export interface FcmTransportOptions {
  /** The Firebase project messages are sent from; explicit so firebase-admin never probes the metadata server. */
  projectId: string;
  /** A service-account key file: its path, or the parsed JSON. Checked when the transport is created. */
  serviceAccount?: string | FcmServiceAccount;
  /** Instead of `serviceAccount`: any firebase-admin `Credential` (`applicationDefault()`, or a fake in tests). */
  credential?: Credential;
  /**
   * The agent for firebase-admin's HTTP/1.1 requests and, with a service-account path, its OAuth token fetch.
   * An `Agent` stays the caller's; a factory's agent is the transport's and is destroyed by `close()`. Default:
   * a keep-alive agent owned by the transport. It does not carry HTTP/2 `sendEach` (firebase-admin opens those
   * sessions itself).
   */
  httpAgent?: Agent | (() => Agent);
  /**
   * Send batches over HTTP/1.1 (firebase-admin's deprecated `enableLegacyHttpTransport()`), one request per message
   * through `httpAgent`, instead of one HTTP/2 session per `sendEach`. Needed under msw, which cannot intercept
   * HTTP/2. Default false.
   */
  legacyHttpTransport?: boolean;
  /** For logs and metrics; default `fcm:<projectId>`. */
  name?: string;
  /** Messages per `sendEach` call, 1–500; default 500. */
  maxBatchSize?: number;
  /** `sendEach` calls in flight at once when a send has more devices than one batch; default 4. */
  batchesInFlight?: number;
  /**
   * Our retry of rate limits, FCM 500/503 and network failures; `false` hands every failure to the outbox.
   * firebase-admin's own retries are turned off either way, so this is the only retry inside the transport.
   */
  retry?: FcmRetryOptions | false;
  /**
   * How long one `sendEach` call to firebase-admin may take, OAuth token fetch included; default 10 000 ms. Its
   * messages still unanswered then get `retry-after` `ERR_TRANSPORT_TIMEOUT`. firebase-admin cannot cancel the call,
   * so it runs on in the background (at most its own 15 s per request) and its late answer is dropped.
   */
  timeoutMs?: number;
  logger?: Logger;
  /** Time source (`{ now() }`, ms since the epoch) for expiry, `apns-expiration` and HTTP-date `Retry-After`; default the system clock. */
  clock?: Clock;
  /**
   * Waits between retries; inject a fake in tests. Resolves once `ms` have passed; when `signal` aborts it resolves
   * `false` (or rejects). Default: core's abortable `sleep`.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>;
  /** Jitter source in [0, 1); default `Math.random`. */
  random?: () => number;
}

const configError = (message: string): never => {
  throw new IdrelayError('ERR_TRANSPORT_CONFIG', message);
};

/**
 * Creates a {@link Transport} for Firebase Cloud Messaging HTTP v1 on firebase-admin, which is loaded on the first
 * send. Each transport has its own named Firebase app (deleted by `close()`); batches go through `sendEach`
 * (≤ 500 per call, distinct messages or one shared message alike); rate limits, FCM 500/503 and network failures
 * are retried with backoff and jitter, honouring `Retry-After`, before they are handed back as `retry-after`
 * (firebase-admin's own retries are off, so this is the only retry). A `sendEach` call unanswered after `timeoutMs`
 * gives its devices `retry-after` `ERR_TRANSPORT_TIMEOUT`. Each request's lifetime (the smaller of `ttlSeconds` and
 * what is left until `expiresAt`) becomes Android `ttl`, `apns-expiration` and Web Push `TTL`; an expired request is
 * refused with `ERR_DELIVERY_EXPIRED`.
 *
 * @example
 * ```ts
 * const fcm = createFcmTransport({ projectId: 'my-project', serviceAccount: '/run/secrets/firebase-sa.json' });
 * const [result] = await fcm.send(
 *   { id: 'n-1', title: 'Approve access?', urgency: 'high' },
 *   [{ deviceId: 'd-1', platform: 'fcm', token: registrationToken }],
 * );
 * const personal = await fcm.sendEach(
 *   users.map((user) => ({ message: renderFor(user), target: user.device, expiresAt: Date.now() + 120_000 })),
 * );
 * await fcm.close();
 * ```
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
 * @see https://firebase.google.com/docs/cloud-messaging/send/admin-sdk
 */
export function createFcmTransport(options: FcmTransportOptions): Transport {
  if (typeof options.projectId !== 'string' || options.projectId === '') configError('projectId is required.');
  if (!options.credential && options.serviceAccount === undefined) {
    throw new IdrelayError('ERR_FCM_CREDENTIALS', 'Give serviceAccount (a key-file path or object) or credential.');
  }
  const account = options.credential ? undefined : loadServiceAccount(options.serviceAccount!);
  const batchSize = options.maxBatchSize ?? MAX_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH)
    configError('maxBatchSize must be 1–500.');
  const inFlight = options.batchesInFlight ?? 4;
  if (!Number.isInteger(inFlight) || inFlight < 1) configError('batchesInFlight must be an integer ≥ 1.');
  const checked = retryPolicy(options.retry);
  const policy = typeof checked === 'string' ? configError(checked) : checked;
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) configError('timeoutMs must be a positive number.');
  const logger = options.logger ?? silentLogger;

  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const appName = `idrelay-fcm-${randomUUID()}`;
  const ownsAgent = !(options.httpAgent instanceof Agent);
  let agent: Agent | undefined = options.httpAgent instanceof Agent ? options.httpAgent : undefined;
  const closing = new AbortController();
  const running = new Set<Promise<unknown>>();
  let started: Promise<{ app: App; messaging: Messaging; deleteApp: (app: App) => Promise<void> }> | undefined;
  let closed = false;

  function start() {
    started ??= (async () => {
      const [{ initializeApp, cert, deleteApp }, { getMessaging }] = await Promise.all([
        import('firebase-admin/app'),
        import('firebase-admin/messaging'),
      ]);
      agent ??= typeof options.httpAgent === 'function' ? options.httpAgent() : new Agent({ keepAlive: true });
      // A path goes to firebase-admin as a path: only then does its OAuth fetch use `agent` (14.5 drops it for objects).
      const key = typeof options.serviceAccount === 'string' ? options.serviceAccount : account;
      const credential = options.credential ?? cert(key as never, agent);
      const app = initializeApp({ credential, projectId: options.projectId, httpAgent: agent }, appName);
      const messaging = getMessaging(app);
      disableSdkRetries(messaging, logger);
      if (options.legacyHttpTransport) messaging.enableLegacyHttpTransport();
      return { app, messaging, deleteApp };
    })().catch((error: unknown) => {
      started = undefined; // a later send may try again (e.g. after a transient module-load failure)
      throw new IdrelayError('ERR_TRANSPORT_CONFIG', 'firebase-admin could not be loaded or initialised.', {
        cause: error,
      });
    });
    return started;
  }

  async function sendEach(requests: readonly PushRequest[], sendOptions: SendOptions = {}) {
    if (closed) throw new IdrelayError('ERR_TRANSPORT_CLOSED', 'The FCM transport was closed.');
    const results: DeliveryResult[] = new Array(requests.length);
    const startedAt = now();
    // One template per message object: a fan-out of one message to 10 000 devices maps it once.
    const templates = new Map<PushMessage, FcmMessageTemplate>();
    const pending: PendingRequest[] = [];
    requests.forEach(({ message, target, expiresAt }, index) => {
      if (target.platform !== 'fcm') {
        const reason = `A ${target.platform} device was handed to the FCM transport.`;
        results[index] = {
          deviceId: target.deviceId,
          status: 'rejected',
          code: 'ERR_TRANSPORT_PLATFORM_MISMATCH',
          reason,
        };
        return;
      }
      if (hasExpired(expiresAt, startedAt)) {
        results[index] = expired(target.deviceId);
        return;
      }
      let template = templates.get(message);
      if (template === undefined) {
        template = buildTemplate(message);
        templates.set(message, template);
      }
      pending.push({ index, target, template, expiresAt });
    });
    if (pending.length === 0) return results;

    const { messaging } = await start();
    const signal = sendOptions.signal ? AbortSignal.any([closing.signal, sendOptions.signal]) : closing.signal;
    const abortCode = (): ErrorCode => (closing.signal.aborted ? 'ERR_TRANSPORT_CLOSED' : 'ERR_TRANSPORT_TIMEOUT');
    const context: DeliverContext = {
      messaging,
      policy,
      now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? ((ms, signal) => sleep(ms, { signal })),
      logger,
      timeoutMs,
      signal,
      abortCode,
      sizes: new WeakMap(),
    };
    // FCM takes up to 500 messages per sendEach whether they are one message or 500 distinct ones.
    const batches: (() => Promise<void>)[] = [];
    for (let i = 0; i < pending.length; i += batchSize) {
      const batch = pending.slice(i, i + batchSize);
      batches.push(() => deliverBatch(batch, results, context));
    }
    await runLimited(batches, inFlight);
    return results;
  }

  const track = (work: Promise<DeliveryResult[]>) => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  };

  return {
    platform: 'fcm',
    name: options.name ?? `fcm:${options.projectId}`,
    send(message, targets, sendOptions) {
      return track(
        sendEach(
          targets.map((target) => ({ message, target })),
          sendOptions,
        ),
      );
    },
    sendEach(requests, sendOptions) {
      return track(sendEach(requests, sendOptions));
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      await Promise.allSettled([...running]);
      const app = await started?.catch(() => undefined);
      if (app) await app.deleteApp(app.app);
      if (ownsAgent) agent?.destroy();
    },
  };
}
