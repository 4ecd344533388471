import type { DeliveryResult, DeviceTarget, Platform, PushMessage } from '../messages/push-message.js';

/** Options of one {@link Transport.send} call. */
export interface SendOptions {
  /** Aborts in-flight requests; devices not yet answered get `retry-after` with `ERR_TRANSPORT_TIMEOUT`. */
  signal?: AbortSignal;
}

/**
 * Sends push messages over one platform's wire protocol (APNs, FCM, Web Push).
 *
 * Implementations are created by a factory (`createApnsTransport(options)`), hold their connections for their
 * lifetime, and never share state with another instance. They pass `transportContract()` from
 * `@idrelay/testkit`.
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
  /** Frees every socket, timer and vendor app. Sends after `close()` throw `ERR_TRANSPORT_CLOSED`. */
  close(): Promise<void>;
}
