import type { IncomingHttpHeaders } from 'node:http2';

/** An APNs error answer: HTTP status and the `reason` of the JSON body. */
export interface ApnsRefusal {
  status: number;
  reason: string;
}

/** What {@link checkApnsRequest} needs to know about the stand-in's world. */
export interface ApnsRequestRules {
  /** Bundle ids the provider key may push to; empty = any. `.voip`/`.complication` suffixes are accepted too. */
  topics: readonly string[];
  /** Devices registered for one topic: a request for another topic gets `DeviceTokenNotForTopic`. */
  deviceTopics: ReadonlyMap<string, string>;
}

const PUSH_TYPES = new Set([
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'location',
  'liveactivity',
  'pushtotalk',
  'controls',
  'widgets',
]);
const HEX_TOKEN = /^[0-9a-fA-F]{64}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Checks one `POST /3/device/:token` the way APNs documents it, after authentication: topic, device token,
 * `apns-push-type`, `apns-priority`, `apns-expiration`, `apns-id`, `apns-collapse-id` and the payload size.
 * Returns the refusal APNs would send, or `undefined` for a well-formed request.
 *
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
 * @see https://developer.apple.com/documentation/usernotifications/handling-error-responses-from-apns
 * @example
 * ```ts
 * checkApnsRequest('ab…', headers, body, { topics: ['com.example.app'], deviceTopics: new Map() });
 * // → { status: 400, reason: 'MissingTopic' } | undefined
 * ```
 */
export function checkApnsRequest(
  token: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  rules: ApnsRequestRules,
): ApnsRefusal | undefined {
  const topic = headers['apns-topic'];
  if (typeof topic !== 'string' || topic === '') return { status: 400, reason: 'MissingTopic' };
  if (rules.topics.length > 0) {
    const bundle = topic.replace(/\.(voip|complication)$/, '');
    if (!rules.topics.includes(bundle)) return { status: 400, reason: 'BadTopic' };
  }
  if (token === '') return { status: 400, reason: 'MissingDeviceToken' };
  if (!HEX_TOKEN.test(token)) return { status: 400, reason: 'BadDeviceToken' };
  const registered = rules.deviceTopics.get(token);
  if (registered !== undefined && topic.replace(/\.(voip|complication)$/, '') !== registered) {
    return { status: 400, reason: 'DeviceTokenNotForTopic' };
  }

  const pushType = headers['apns-push-type'] ?? 'alert';
  if (typeof pushType !== 'string' || !PUSH_TYPES.has(pushType)) return { status: 400, reason: 'InvalidPushType' };
  const priority = headers['apns-priority'];
  if (priority !== undefined && priority !== '10' && priority !== '5' && priority !== '1') {
    return { status: 400, reason: 'BadPriority' };
  }
  // Apple: background notifications must be sent with priority 5; 10 is an error for them.
  if (pushType === 'background' && priority === '10') return { status: 400, reason: 'BadPriority' };
  const expiration = headers['apns-expiration'];
  if (expiration !== undefined && (typeof expiration !== 'string' || !/^\d{1,12}$/.test(expiration))) {
    return { status: 400, reason: 'BadExpirationDate' };
  }
  const id = headers['apns-id'];
  if (id !== undefined && (typeof id !== 'string' || !UUID.test(id))) return { status: 400, reason: 'BadMessageId' };
  const collapseId = headers['apns-collapse-id'];
  if (collapseId !== undefined && (typeof collapseId !== 'string' || Buffer.byteLength(collapseId) > 64)) {
    return { status: 400, reason: 'BadCollapseId' };
  }

  if (body.length === 0) return { status: 400, reason: 'PayloadEmpty' };
  if (body.length > (pushType === 'voip' ? 5120 : 4096)) return { status: 413, reason: 'PayloadTooLarge' };
  return undefined;
}
