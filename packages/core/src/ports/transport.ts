import type { DeliveryResult, DeviceTarget, Platform, PushMessage } from '../messages/push-message.js';

/** Options of {@link Transport.send} and {@link Transport.sendEach}. */
export interface SendOptions {
  /**
   * Aborts requests not yet answered; their devices get `retry-after` with `ERR_TRANSPORT_TIMEOUT`. The engine
   * aborts at the end of the claim's lease, so a send never outlives the lease it was claimed under.
   */
  signal?: AbortSignal;
  /**
   * `high` sends go ahead of `normal` ones waiting for a connection or a stream inside the transport, so a
   * sign-in verification does not queue behind a fan-out of thousands. Default `normal`.
   */
  priority?: 'high' | 'normal';
}

/** One push: a message for one device. */
export interface PushRequest {
  message: PushMessage;
  target: DeviceTarget;
  /**
   * Never delivered after this instant (ms since the epoch). The push service is given the remaining lifetime
   * (APNs `apns-expiration`, FCM `ttl`, Web Push `TTL`, the smaller of it and `message.ttlSeconds`); when it has
   * already passed nothing is sent and the result is `rejected` with `ERR_DELIVERY_EXPIRED`.
   */
  expiresAt?: number;
}

/**
 * Sends push messages over one platform's wire protocol (APNs, FCM, Web Push).
 *
 * Implementations are created by a factory (`createApnsTransport(options)`), hold their connections for their
 * lifetime, and never share state with another instance. They pass `transportContract()` from
 * `@idrelay/testkit/contracts`.
 */
export interface Transport {
  /** The platform whose devices this transport accepts. */
  readonly platform: Platform;
  /** A name for logs and metrics, e.g. `apns:com.example.app`. */
  readonly name: string;
  /**
   * Sends `message` to every target and resolves with one result per target, in input order. Partial failure is
   * data: an unreachable service, a bad token or a 429 is a result, not a thrown error. Throws only when the
   * transport itself is unusable (`ERR_TRANSPORT_CLOSED`, `ERR_TRANSPORT_CONFIG`).
   */
  send(message: PushMessage, targets: readonly DeviceTarget[], options?: SendOptions): Promise<DeliveryResult[]>;
  /**
   * Sends many pushes with messages of their own (personalised text, one render per locale) and resolves with
   * one result per request, in input order. Batched as far as the provider allows: FCM up to 500 distinct
   * messages per `sendEach`, APNs and Web Push all at once on the pooled connections. Throws as `send` does.
   */
  sendEach(requests: readonly PushRequest[], options?: SendOptions): Promise<DeliveryResult[]>;
  /** Frees every socket, timer and vendor app. Sends after `close()` throw `ERR_TRANSPORT_CLOSED`. */
  close(): Promise<void>;
}
