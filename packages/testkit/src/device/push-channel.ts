import type { WebPushSubscription } from '@idrelay/core';
import type { ApnsStandIn } from '../apns/stand-in-types.js';
import type { FcmStandIn } from '../fcm/stand-in.js';
import type { WebPushService } from '../webpush/web-push-service-types.js';

/** Where a device's pushes are sent: its APNs device token, FCM registration token or Web Push subscription. */
export type PushAddress =
  | { platform: 'apns'; token: string }
  | { platform: 'fcm'; token: string }
  | { platform: 'webpush'; subscription: WebPushSubscription };

/**
 * A push as the platform hands it to the device, before the app reads it: the APNs JSON payload, the FCM message,
 * or the Web Push body still encrypted (RFC 8291 `aes128gcm`), which only the subscriber's keys open.
 */
export type WirePush =
  | { platform: 'apns'; payload: unknown; receivedAt: number }
  | { platform: 'fcm'; message: Record<string, unknown>; receivedAt: number }
  | { platform: 'webpush'; body: Uint8Array; receivedAt: number };

/**
 * How a simulated device reaches its push service: register a browser's keys for a Web Push endpoint, and list
 * what was delivered to an address. {@link sandboxPushChannel} reads the stand-ins in this process;
 * {@link remotePushChannel} reads those of an `idrelay start` over HTTP.
 */
export interface PushChannel {
  /**
   * Registers a browser's own public key and auth secret with the push service and returns the subscription's
   * endpoint, as `pushManager.subscribe()` does. Web Push only.
   */
  subscribeWebPush(keys: { p256dh: string; auth: string }): Promise<string>;
  /** Pushes delivered to `address` so far (accepted by the push service), oldest first. */
  received(address: PushAddress): Promise<readonly WirePush[]>;
}

/** The stand-ins a {@link sandboxPushChannel} reads; a platform left out has no channel. */
export interface SandboxStandIns {
  apns?: ApnsStandIn | undefined;
  fcm?: FcmStandIn | undefined;
  webpush?: WebPushService | undefined;
}

const missing = (platform: string): never => {
  throw new TypeError(`no ${platform} stand-in was given to the push channel`);
};

/**
 * A {@link PushChannel} over the testkit stand-ins running in this process: what the APNs stand-in answered 200,
 * what the FCM stand-in accepted (not `validate_only`), and the encrypted bodies the Web Push service accepted for
 * a subscription made with the browser's own keys.
 *
 * @example
 * ```ts
 * const channel = sandboxPushChannel({ apns, fcm, webpush });
 * const device = await createSimulatedDevice({ baseUrl, platform: 'webpush', deviceId: 'firefox', channel });
 * ```
 */
export function sandboxPushChannel(standIns: SandboxStandIns): PushChannel {
  return {
    async subscribeWebPush(keys) {
      const service = standIns.webpush ?? missing('webpush');
      return service.subscribe({ keys }).endpoint;
    },
    async received(address) {
      switch (address.platform) {
        case 'apns':
          return (standIns.apns ?? missing('apns'))
            .requestsFor(address.token)
            .filter((r) => r.status === 200)
            .map((r) => ({ platform: 'apns', payload: r.payload, receivedAt: r.receivedAt }));
        case 'fcm':
          return (standIns.fcm ?? missing('fcm')).messages
            .filter((m) => !m.validateOnly && m.message.token === address.token)
            .map((m) => ({ platform: 'fcm', message: m.message, receivedAt: m.receivedAt }));
        case 'webpush': {
          const service = standIns.webpush ?? missing('webpush');
          return service
            .received(address.subscription.endpoint)
            .map((r) => ({ platform: 'webpush', body: new Uint8Array(r.body), receivedAt: r.receivedAt }));
        }
      }
    },
  };
}
