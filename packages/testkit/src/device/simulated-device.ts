import { createECDH, type ECDH, randomBytes } from 'node:crypto';
import type { WebPushSubscription } from '@idrelay/core';
import { exchange, PushTimeoutError, refusal } from './device-error.js';
import { createDeviceKey, type DeviceKey } from './device-key.js';
import { signDeviceProof } from './proof.js';
import type { PushAddress } from './push-channel.js';
import { type ReceivedPush, readPush } from './read-push.js';
import type {
  Answerable,
  DeviceFetch,
  PushDetails,
  RespondResult,
  SimulatedDevice,
  SimulatedDeviceOptions,
} from './simulated-device-types.js';

export type {
  Answerable,
  DeviceFetch,
  PushDetails,
  RespondResult,
  SimulatedDevice,
  SimulatedDeviceOptions,
  SimulatedDeviceState,
} from './simulated-device-types.js';

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
 * const push = await device.waitForPush((p) => p.data.verificationId === verificationId);
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
  const fetcher: DeviceFetch = options.fetch ?? ((request) => globalThis.fetch(request));
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
