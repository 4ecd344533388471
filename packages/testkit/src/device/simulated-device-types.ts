import type { JsonWebKey } from 'node:crypto';
import type { DeviceAlgorithm } from './device-key.js';
import type { PushAddress, PushChannel } from './push-channel.js';
import type { ReceivedPush } from './read-push.js';

/** How the device sends HTTP requests: `globalThis.fetch`, or a server's in-process handler (`app.fetch`). */
export type DeviceFetch = (request: Request) => Response | Promise<Response>;

/** Options of {@link createSimulatedDevice}. */
export interface SimulatedDeviceOptions {
  /**
   * The relay's public origin (the gateway's `publicUrl`), e.g. `http://127.0.0.1:8787`; the default URLs below
   * hang off it. Default `http://localhost` (with an in-process `fetch`).
   */
  baseUrl?: string;
  /** How requests are sent: default `globalThis.fetch`; pass the gateway's `app.fetch` to skip HTTP. */
  fetch?: DeviceFetch;
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
