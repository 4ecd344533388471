import { createECDH, type ECDH, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { WebPushSubscription } from '@idrelay/core';
import { createTestCertificate } from '../tls/self-signed.js';
import { DecryptError, decryptWebPushBody } from './decrypt.js';
import { type VapidClaims, verifyVapid } from './vapid-verify.js';
import type {
  ReceivedWebPush,
  RecordedPushRequest,
  ScriptedPushResponse,
  WebPushService,
  WebPushServiceCounts,
  WebPushServiceOptions,
} from './web-push-service-types.js';

interface Subscriber {
  id: string;
  endpoint: string;
  /** Absent when the user agent brought its own keys: the service then cannot read the messages. */
  ecdh?: ECDH;
  auth: Buffer;
  applicationServerKey?: string;
  gone: boolean;
  script: { response: ScriptedPushResponse; times: number }[];
}

const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;
const READ_LIMIT = 64 * 1024;

/**
 * Starts a Web Push service on `127.0.0.1` (random port) speaking RFC 8030 over HTTPS: it issues subscriptions,
 * verifies the RFC 8292 VAPID header on every request, checks `TTL`, `Urgency`, `Topic` and
 * `Content-Encoding: aes128gcm`, decrypts the RFC 8291 body with the subscriber's private key, records plaintext
 * and headers, and answers `201 Created` with a `Location`. Per subscription, a test can script 404, 410, 413,
 * 429 + `Retry-After`, 403, slow or gated answers and connection resets.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8030#section-5 (push), RFC 8291 §3–4 (encryption), RFC 8292 §2 (VAPID)
 * @example
 * ```ts
 * const service = await startWebPushService();
 * const subscription = service.subscribe();
 * const agent = new https.Agent({ ca: service.ca, keepAlive: true });
 * // … send with any Web Push library, then:
 * expect(service.received(subscription)[0]?.json()).toMatchObject({ title: 'Hi' });
 * await service.close();
 * ```
 */
export async function startWebPushService(options: WebPushServiceOptions = {}): Promise<WebPushService> {
  const clock = options.clock ?? { now: () => Date.now() };
  const maxBody = options.maxBodyBytes ?? 4096;
  const record = options.record ?? true;
  const { cert, key } = createTestCertificate();
  const subscribers = new Map<string, Subscriber>();
  const vapidKeys = new Map<string, KeyObject>();
  const requests: RecordedPushRequest[] = [];
  const received: ReceivedWebPush[] = [];
  const counts: WebPushServiceCounts = { requests: 0, accepted: 0, decrypted: 0, refused: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let origin = '';

  const server = createServer({ cert, key, keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > READ_LIMIT) req.socket.destroy();
      else chunks.push(chunk);
    });
    req.on('end', () => handle(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): undefined {
    counts.requests++;
    const match = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const subscriber = match ? subscribers.get(match[1]!) : undefined;
    const entry: RecordedPushRequest = {
      subscriptionId: match?.[1] ?? '',
      status: 0,
      headers: req.headers,
      bodyBytes: body.length,
    };
    if (record) requests.push(entry);
    const answer = (status: number, reason?: string, headers: Record<string, string> = {}): undefined => {
      entry.status = status;
      if (reason !== undefined) entry.reason = reason;
      if (status !== 201) counts.refused++;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(reason ?? '');
      return undefined;
    };

    if (req.method !== 'POST') return answer(405, 'push requires POST (RFC 8030 §5)');
    if (!subscriber) return answer(404, 'no such subscription (RFC 8030 §7.3)');
    if (subscriber.gone) return answer(410, 'subscription expired or unsubscribed');

    const vapid = verifyVapid(req.headers.authorization, origin, clock.now(), vapidKeys);
    if (!vapid.ok) return answer(403, vapid.reason);
    entry.vapid = vapid.claims;
    if (subscriber.applicationServerKey && vapid.claims.publicKey !== subscriber.applicationServerKey) {
      return answer(403, 'VAPID key differs from the applicationServerKey of the subscription (RFC 8292 §4)');
    }

    const ttl = req.headers.ttl;
    if (typeof ttl !== 'string' || !/^\d+$/.test(ttl))
      return answer(400, 'TTL header missing or not a number (RFC 8030 §5.2)');
    const urgency = req.headers.urgency ?? 'normal';
    if (typeof urgency !== 'string' || !URGENCIES.has(urgency))
      return answer(400, `bad Urgency "${urgency}" (RFC 8030 §5.3)`);
    const topic = req.headers.topic;
    if (topic !== undefined && (typeof topic !== 'string' || !TOPIC.test(topic))) {
      return answer(400, 'Topic must be at most 32 base64url characters (RFC 8030 §5.4)');
    }
    if (req.headers['content-encoding'] !== 'aes128gcm')
      return answer(415, 'Content-Encoding must be aes128gcm (RFC 8291 §4)');
    if (body.length > maxBody) return answer(413, `body of ${body.length} bytes exceeds ${maxBody} (RFC 8030 §7.2)`);

    const scripted = subscriber.script[0];
    if (scripted) {
      if (--scripted.times <= 0) subscriber.script.shift();
      const r = scripted.response;
      if ('reset' in r) {
        req.socket.destroy();
        counts.refused++;
        return;
      }
      if ('hang' in r) return;
      if ('status' in r) {
        const headers: Record<string, string> =
          r.retryAfter === undefined ? {} : { 'retry-after': String(r.retryAfter) };
        return answer(r.status, r.body ?? `scripted ${r.status}`, headers);
      }
      const later = () => {
        accept(req, body, subscriber, vapid.claims, answer, Number(ttl), urgency, topic);
      };
      if ('until' in r) {
        Promise.resolve(r.until).then(later, later);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        later();
      }, r.delayMs);
      timers.add(timer);
      return;
    }
    accept(req, body, subscriber, vapid.claims, answer, Number(ttl), urgency, topic);
  }

  function accept(
    req: IncomingMessage,
    body: Buffer,
    subscriber: Subscriber,
    claims: VapidClaims,
    answer: (status: number, reason?: string, headers?: Record<string, string>) => undefined,
    ttl: number,
    urgency: string,
    topic: string | undefined,
  ): undefined {
    let plaintext: Buffer = Buffer.alloc(0);
    if (subscriber.ecdh === undefined) {
      const problem = aes128gcmHeaderProblem(body);
      if (problem !== undefined) return answer(400, problem);
    } else {
      try {
        plaintext = decryptWebPushBody(body, subscriber.ecdh, subscriber.auth);
      } catch (error) {
        if (error instanceof DecryptError) return answer(400, `cannot decrypt: ${error.message}`);
        throw error;
      }
      counts.decrypted++;
    }
    counts.accepted++;
    if (record) {
      received.push({
        subscriptionId: subscriber.id,
        endpoint: subscriber.endpoint,
        ttl,
        urgency,
        ...(topic === undefined ? {} : { topic }),
        vapid: claims,
        headers: req.headers,
        plaintext,
        body,
        receivedAt: clock.now(),
        decrypted: subscriber.ecdh !== undefined,
        text: () => plaintext.toString('utf8'),
        json: () => JSON.parse(plaintext.toString('utf8')),
      });
    }
    answer(201, undefined, { location: `${origin}/message/${randomUUID()}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://localhost:${port}`;

  const idOf = (s: WebPushSubscription | string) => {
    const endpoint = typeof s === 'string' ? s : s.endpoint;
    return endpoint.slice(endpoint.lastIndexOf('/') + 1);
  };
  const subscriberOf = (s: WebPushSubscription | string) => {
    const found = subscribers.get(idOf(s));
    if (!found) throw new Error(`unknown subscription ${typeof s === 'string' ? s : s.endpoint}`);
    return found;
  };

  return {
    origin,
    port,
    ca: cert,
    subscribe(subscribeOptions = {}) {
      const id = randomBytes(12).toString('base64url');
      const endpoint = `${origin}/push/${id}`;
      const own = subscribeOptions.keys;
      if (own !== undefined) {
        const p256dh = Buffer.from(own.p256dh, 'base64url');
        const auth = Buffer.from(own.auth, 'base64url');
        if (p256dh.length !== 65 || p256dh[0] !== 4 || auth.length !== 16) {
          throw new TypeError('keys must be an uncompressed P-256 point (65 bytes) and a 16-byte auth, base64url');
        }
        subscribers.set(id, { id, endpoint, auth, gone: false, script: [], ...applicationKey(subscribeOptions) });
        return { endpoint, keys: { p256dh: own.p256dh, auth: own.auth } };
      }
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      subscribers.set(id, {
        id,
        endpoint,
        ecdh,
        auth,
        gone: false,
        script: [],
        ...(subscribeOptions.applicationServerKey
          ? { applicationServerKey: subscribeOptions.applicationServerKey }
          : {}),
      });
      return { endpoint, keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') } };
    },
    unsubscribe(s) {
      subscriberOf(s).gone = true;
    },
    script(s, response, scriptOptions = {}) {
      subscriberOf(s).script.push({ response, times: scriptOptions.times ?? Number.POSITIVE_INFINITY });
    },
    received: (s) => (s === undefined ? [...received] : received.filter((r) => r.subscriptionId === idOf(s))),
    requests: (s) => (s === undefined ? [...requests] : requests.filter((r) => r.subscriptionId === idOf(s))),
    counts: () => ({ ...counts }),
    openConnections: () => sockets.size,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

const applicationKey = (options: { applicationServerKey?: string }) =>
  options.applicationServerKey ? { applicationServerKey: options.applicationServerKey } : {};

/** What a push service can check of a body it cannot read: the RFC 8188 §2.1 header RFC 8291 §4 requires. */
function aes128gcmHeaderProblem(body: Buffer): string | undefined {
  if (body.length < 21 + 65 + 17) return 'body shorter than an aes128gcm header, key and record (RFC 8291 §4)';
  if (body[20] !== 65) return 'keyid must be the 65-byte sender public key (RFC 8291 §4)';
  if (body.readUInt32BE(16) < 18) return 'record size below the minimum of 18 (RFC 8188 §2)';
  return undefined;
}

export type {
  ReceivedWebPush,
  RecordedPushRequest,
  ScriptedPushResponse,
  SubscribeOptions,
  WebPushService,
  WebPushServiceCounts,
  WebPushServiceOptions,
} from './web-push-service-types.js';
