/**
 * `@idrelay/testkit/fixtures`: factories for the values tests build over and over — identity events, registered
 * devices, device targets and push messages — valid by construction and numbered per factory, so a test reads
 * `fixtures.event(…)` instead of a page of literals and two tests never share a counter.
 *
 * @packageDocumentation
 */
import { createECDH, randomBytes } from 'node:crypto';
import {
  type CreateEventOptions,
  type DeviceRecord,
  type DeviceTarget,
  deviceTarget,
  type EventDataInputMap,
  type EventType,
  type IdentityEvent,
  type Platform,
  type PushMessage,
  type WebPushSubscription,
} from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';

/** Options of {@link createFixtures}. */
export interface FixturesOptions {
  /** CloudEvents `source` of the events. Default `https://iam.example.com`. */
  source?: string;
  /** The instant events are stamped with and devices registered at, ms. Default 2026-11-23T12:00:00Z. */
  now?: number | (() => number);
  /** Prefix of generated ids (`evt-1`, `device-1`, `n-1`), to keep two factories' ids apart. Default none. */
  prefix?: string;
}

/** A device as a test describes it: the platform, and whatever should differ from the defaults. */
export type DeviceOverrides = Partial<Omit<DeviceRecord, 'platform'>> & {
  /** APNs or FCM token; default 64 hex characters (a shape APNs accepts) derived from the device number. */
  token?: string;
  /** Web Push subscription; default one with a fresh P-256 key and auth secret, so it can be encrypted to. */
  subscription?: WebPushSubscription;
};

/** What {@link createFixtures} returns. */
export interface Fixtures {
  /**
   * A validated event of `type` with `data`, from the factory's source and clock and a fresh id (`evt-<n>`);
   * `options` override any of them.
   *
   * @throws {IdrelayError} `ERR_EVENT_INVALID` when `data` does not fit the type, as `createEvent` does.
   */
  event<T extends EventType>(
    type: T,
    data: EventDataInputMap[T],
    options?: Partial<CreateEventOptions>,
  ): IdentityEvent<T>;
  /** A registered device of `platform` (`device-<n>` of `user-1` unless overridden), as a store holds it. */
  device(platform: Platform, overrides?: DeviceOverrides): DeviceRecord;
  /** The address a transport needs for a device from {@link Fixtures.device}, with optional per-device data. */
  target(platform: Platform, overrides?: DeviceOverrides & { data?: Record<string, string> }): DeviceTarget;
  /** A push message (`n-<n>`, normal urgency, a title and body) with `overrides` on top. */
  message(overrides?: Partial<PushMessage>): PushMessage;
}

/** A subscription a Web Push transport can encrypt to (RFC 8291 needs a real P-256 key and a 16-byte secret). */
function subscriptionFor(id: string): WebPushSubscription {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint: `https://push.example.net/push/${id}`,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

/**
 * Creates a set of fixture factories with their own counters and clock.
 *
 * @example
 * ```ts
 * import { createFixtures } from '@idrelay/testkit/fixtures';
 *
 * const fixtures = createFixtures();
 * const locked = fixtures.event('idrelay.account.locked', { userId: 'u-1', reason: 'failed-logins' });
 * const phone = fixtures.device('apns', { userId: 'u-1' }); // token: 64 hex characters
 * const results = await transport.send(fixtures.message({ title: 'Account locked' }), [fixtures.target('fcm')]);
 * ```
 */
export function createFixtures(options: FixturesOptions = {}): Fixtures {
  const source = options.source ?? 'https://iam.example.com';
  const clock = options.now ?? Date.parse('2026-11-23T12:00:00Z');
  const now = typeof clock === 'function' ? clock : () => clock;
  const prefix = options.prefix ?? '';
  const counters = { event: 0, device: 0, message: 0 };

  function device(platform: Platform, overrides: DeviceOverrides = {}): DeviceRecord {
    const n = ++counters.device;
    const { token, subscription, ...rest } = overrides;
    const deviceId = rest.deviceId ?? `${prefix}device-${n}`;
    const base = { userId: 'user-1', createdAt: now(), updatedAt: now(), ...rest, deviceId };
    if (platform === 'webpush') return { ...base, platform, subscription: subscription ?? subscriptionFor(deviceId) };
    const hex = token ?? n.toString(16).padStart(64, '0');
    return platform === 'apns' ? { ...base, platform, token: hex } : { ...base, platform, token: hex };
  }

  return {
    event(type, data, overrides = {}) {
      return createEvent(type, data, {
        source,
        id: `${prefix}evt-${++counters.event}`,
        time: new Date(now()).toISOString(),
        ...overrides,
      });
    },
    device,
    target(platform, overrides = {}) {
      const { data, ...rest } = overrides;
      return deviceTarget(device(platform, rest), data);
    },
    message(overrides = {}) {
      const id = `${prefix}n-${++counters.message}`;
      return { id, urgency: 'normal', title: 'Account locked', body: 'Open the app to unlock it.', ...overrides };
    },
  };
}
