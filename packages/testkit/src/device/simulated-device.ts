import { createECDH, type ECDH, type JsonWebKey, randomBytes } from 'node:crypto';
import type { WebPushSubscription } from '@idrelay/core';
import { exchange, PushTimeoutError, refusal } from './device-error.js';
import { createDeviceKey, type DeviceAlgorithm, type DeviceKey } from './device-key.js';
import { signDeviceProof } from './proof.js';
import type { PushAddress, PushChannel } from './push-channel.js';
import { type ReceivedPush, readPush } from './read-push.js';

type Fetch = (request: Request) => Response | Promise<Response>;

/** Options of {@link createSimulatedDevice}. */
export interface SimulatedDeviceOptions {
  /**
   * The relay's public origin (the gateway's `publicUrl`), e.g. `http://127.0.0.1:8787`; the default URLs below
   * hang off it. Default `http://localhost` (with an in-process `fetch`).
   */
  baseUrl?: string;
  /** How requests are sent: default `globalThis.fetch`; pass the gateway's `app.fetch` to skip HTTP. */
  fetch?: Fetch;
  platform: 'apns' | 'fcm' | 'webpush';
  /** Default `ES256` (P-256). */
  algorithm?: DeviceAlgorithm;
  /** The device id enrolled and named in every proof's `kid`; 1-512 characters. */
  deviceId: string;
  /** Shown in device lists. */
  name?: string;
  /** Where the device's pushes arrive: `sandboxPushChannel(...)` or `remotePushChannel(...)`. */
  channel: PushChannel;
  /** Default `<baseUrl>/v1/devices/enrol`. */
  enrolUrl?: string;
  /** The relay's `actions.detailsUrl`, with `{notificationId}`; default `<baseUrl>/v1/notifications/{notificationId}/details`. */
  detailsUrl?: string;
  /** The relay's `actions.respondUrl`; default `<baseUrl>/v1/actions`. */
  respondUrl?: string;
  /** APNs only: the app's topic and environment sent with the enrolment. */
  apns?: { topic?: string; environment?: 'production' | 'sandbox' };
  /** For proofs' `iat`; default the system clock. A device far from the relay's clock gets `ERR_ACTION_PROOF_STALE`. */
  clock?: { now(): number };
  /** How often `waitForPush` looks at the push service; default 10 ms. */
  pollIntervalMs?: number;
  /** A device saved with {@link SimulatedDevice.state}: its key and push address are reused. */
  state?: SimulatedDeviceState;
}

/** What a simulated device keeps between runs (private keys included: a test device's, never a real one's). */
export interface SimulatedDeviceState {
  deviceId: string;
  platform: 'apns' | 'fcm' | 'webpush';
  algorithm: DeviceAlgorithm;
  privateJwk: JsonWebKey;
  address: PushAddress;
  /** Web Push: the subscription's ECDH private key and auth secret, base64url. */
  webPush?: { privateKey: string; auth: string };
}

/** What `GET <detailsUrl>` answers (docs/protocol.md §5). */
export interface PushDetails {
  notificationId: string;
  flowId?: string;
  kind?: string;
  actions: string[];
  expiresAt?: number;
  /** True when approving needs the number shown on the sign-in screen. */
  numberMatching: boolean;
  details?: Record<string, unknown>;
  [member: string]: unknown;
}

/** What an applied response answers (docs/protocol.md §6). */
export interface RespondResult {
  status: string;
  notificationId: string;
  decision: string;
  flowId?: string;
  state?: string;
  [member: string]: unknown;
}

/** A push to answer: a {@link ReceivedPush}, or just its action token and notification id. */
export type Answerable = Pick<ReceivedPush, 'token' | 'notificationId'>;

/** A phone or browser driven by a test; see {@link createSimulatedDevice}. */
export interface SimulatedDevice {
  readonly deviceId: string;
  readonly platform: 'apns' | 'fcm' | 'webpush';
  readonly algorithm: DeviceAlgorithm;
  /** The push address sent with the enrolment. */
  readonly address: PushAddress;
  readonly publicJwk: JsonWebKey;
  /**
   * Enrols the key and push address (`POST <enrolUrl>`, docs/protocol.md §2) with a one-time code in the body
   * or a bearer token in `Authorization: Bearer`; resolves with the relay's answer.
   *
   * @throws {DeviceRequestError} `ERR_ENROL_CODE_INVALID`, `ERR_ENROL_DEVICE_CONFLICT`, …
   */
  enrol(auth: { code: string } | { bearer: string }): Promise<Record<string, unknown>>;
  /** Every push delivered so far, oldest first, read as the app reads it. */
  inbox(): Promise<ReceivedPush[]>;
  /**
   * Resolves with the oldest push matching `predicate` that no earlier `waitForPush` returned, looking at the push
   * service every `pollIntervalMs` until `timeoutMs` (default 5000).
   *
   * @throws {PushTimeoutError} when none arrives in time.
   */
  waitForPush(predicate?: (push: ReceivedPush) => boolean, options?: { timeoutMs?: number }): Promise<ReceivedPush>;
  /** Fetches what the push is about with a signed GET (docs/protocol.md §5), e.g. `numberMatching`. */
  details(push: Answerable): Promise<PushDetails>;
  /** Sends a signed decision (docs/protocol.md §6). */
  respond(push: Answerable, decision: string, options?: { code?: string; comment?: string }): Promise<RespondResult>;
  /** `respond(push, 'approve', { code })`: the code the user read on the sign-in screen, when numberMatching. */
  approve(push: Answerable, options?: { code?: string; comment?: string }): Promise<RespondResult>;
  deny(push: Answerable, options?: { comment?: string }): Promise<RespondResult>;
  /** "This wasn't me": denies and alerts the security team. */
  report(push: Answerable, options?: { comment?: string }): Promise<RespondResult>;
  acknowledge(push: Answerable): Promise<RespondResult>;
  /** Everything needed to bring this device back in another process (`createSimulatedDevice({ state })`). */
  state(): SimulatedDeviceState;
}

const PLATFORMS = ['apns', 'fcm', 'webpush'] as const;

/**
 * Creates a simulated device that behaves as a phone or browser running an idrelay app, following
 * docs/protocol.md and nothing else: it makes its own key pair (P-256 or Ed25519), has a push address (an APNs
 * device token, an FCM registration token, or a Web Push subscription whose `p256dh`/`auth` keys it made itself),
 * enrols over HTTP, reads its pushes from the push service (decrypting Web Push, RFC 8291, as a browser does),
 * fetches a push's details with a signed proof and answers with a signed decision. Refusals throw a
 * {@link DeviceRequestError} carrying the problem's `code` and HTTP status.
 *
 * @see docs/protocol.md
 * @example
 * ```ts
 * const device = await createSimulatedDevice({
 *   baseUrl: 'http://127.0.0.1:8787', platform: 'webpush', deviceId: 'alice-firefox',
 *   channel: sandboxPushChannel({ webpush }),
 * });
 * await device.enrol({ code });
 * const push = await device.waitForPush((p) => p.data.type === 'login-verification');
 * if ((await device.details(push)).numberMatching) await device.approve(push, { code: shownOnScreen });
 * ```
 */
export async function createSimulatedDevice(options: SimulatedDeviceOptions): Promise<SimulatedDevice> {
  const saved = options.state;
  const deviceId = saved?.deviceId ?? options.deviceId;
  const platform = saved?.platform ?? options.platform;
  const algorithm = saved?.algorithm ?? options.algorithm ?? 'ES256';
  if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > 512) {
    throw new TypeError('deviceId must be a string of 1-512 characters');
  }
  if (!PLATFORMS.includes(platform))
    throw new TypeError(`platform must be apns, fcm or webpush, got ${String(platform)}`);
  const baseUrl = (options.baseUrl ?? 'http://localhost').replace(/\/+$/, '');
  const fetcher: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));
  const enrolUrl = options.enrolUrl ?? `${baseUrl}/v1/devices/enrol`;
  const detailsUrl = options.detailsUrl ?? `${baseUrl}/v1/notifications/{notificationId}/details`;
  const respondUrl = options.respondUrl ?? `${baseUrl}/v1/actions`;
  const clock = options.clock ?? { now: () => Date.now() };
  const pollMs = options.pollIntervalMs ?? 10;
  const key: DeviceKey = createDeviceKey(algorithm, saved?.privateJwk);

  let webPush: { ecdh: ECDH; auth: Buffer } | undefined;
  let address: PushAddress;
  if (saved !== undefined) {
    address = saved.address;
    if (saved.webPush !== undefined) {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(Buffer.from(saved.webPush.privateKey, 'base64url'));
      webPush = { ecdh, auth: Buffer.from(saved.webPush.auth, 'base64url') };
    }
  } else if (platform === 'webpush') {
    // RFC 8291 §3.2: the user agent makes the ECDH key pair and the 16-byte auth secret; the push service only
    // learns the public half, so only this device can read its messages.
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    webPush = { ecdh, auth: randomBytes(16) };
    const keys = { p256dh: ecdh.getPublicKey('base64url'), auth: webPush.auth.toString('base64url') };
    const subscription: WebPushSubscription = { endpoint: await options.channel.subscribeWebPush(keys), keys };
    address = { platform, subscription };
  } else if (platform === 'apns') {
    address = { platform, token: randomBytes(32).toString('hex') };
  } else {
    address = {
      platform,
      token: `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}`,
    };
  }

  const send = async (request: Request, what: string) => {
    const response = await exchange(fetcher, request, what);
    if (!response.ok) throw await refusal(response, what);
    return (await response.json()) as Record<string, unknown>;
  };
  const need = (push: Answerable) => {
    if (typeof push?.token !== 'string' || push.token.length === 0) {
      throw new TypeError('this push carries no action token (tok): it cannot be answered');
    }
    if (typeof push.notificationId !== 'string' || push.notificationId.length === 0) {
      throw new TypeError('this push carries no notification id (nid)');
    }
    return { token: push.token, notificationId: push.notificationId };
  };
  const iat = () => Math.floor(clock.now() / 1000);
  const taken = new Set<string>();
  const identity = (push: ReceivedPush, index: number) => `${index}:${push.notificationId}:${push.token}`;

  const device: SimulatedDevice = {
    deviceId,
    platform,
    algorithm,
    address,
    publicJwk: key.publicJwk,

    async enrol(auth) {
      const { platform: _p, ...where } = address;
      const body = {
        ...('code' in auth ? { code: auth.code } : {}),
        deviceId,
        platform,
        ...where,
        ...(platform === 'apns' ? options.apns : {}),
        ...(options.name === undefined ? {} : { name: options.name }),
        publicKey: key.publicJwk,
        algorithm,
      };
      // A bearer token travels as HTTP authentication (RFC 6750 §2.1), never in the body.
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if ('bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
      const request = new Request(enrolUrl, { method: 'POST', headers, body: JSON.stringify(body) });
      return send(request, `Enrolment of ${deviceId}`);
    },

    async inbox() {
      const wire = await options.channel.received(address);
      return wire.map((w) => readPush(w, webPush));
    },

    async waitForPush(predicate = () => true, waitOptions = {}) {
      const timeoutMs = waitOptions.timeoutMs ?? 5_000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pushes = await device.inbox();
        const index = pushes.findIndex((p, i) => !taken.has(identity(p, i)) && predicate(p));
        if (index >= 0) {
          const push = pushes[index] as ReceivedPush;
          taken.add(identity(push, index));
          return push;
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new PushTimeoutError(deviceId, timeoutMs, pushes.length);
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
      }
    },

    async details(push) {
      const { token, notificationId } = need(push);
      const url = detailsUrl.replaceAll('{notificationId}', encodeURIComponent(notificationId));
      const proof = signDeviceProof(key, { deviceId, token, method: 'GET', url, iat: iat() });
      const request = new Request(url, { headers: { 'idrelay-token': token, 'idrelay-proof': proof } });
      return (await send(request, `Details of ${notificationId}`)) as PushDetails;
    },

    async respond(push, decision, respondOptions = {}) {
      const { token, notificationId } = need(push);
      const proof = signDeviceProof(key, {
        deviceId,
        token,
        method: 'POST',
        url: respondUrl,
        iat: iat(),
        decision,
        ...(respondOptions.code === undefined ? {} : { code: respondOptions.code }),
        ...(respondOptions.comment === undefined ? {} : { comment: respondOptions.comment }),
      });
      const request = new Request(respondUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, proof }),
      });
      return (await send(request, `Decision ${decision} on ${notificationId}`)) as RespondResult;
    },
    approve: (push, o = {}) => device.respond(push, 'approve', o),
    deny: (push, o = {}) => device.respond(push, 'deny', o),
    report: (push, o = {}) => device.respond(push, 'report', o),
    acknowledge: (push) => device.respond(push, 'acknowledge'),

    state: () => ({
      deviceId,
      platform,
      algorithm,
      privateJwk: key.exportPrivateJwk(),
      address,
      ...(webPush === undefined
        ? {}
        : {
            webPush: {
              privateKey: webPush.ecdh.getPrivateKey('base64url'),
              auth: webPush.auth.toString('base64url'),
            },
          }),
    }),
  };
  return device;
}
