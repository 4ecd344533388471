/**
 * Every error code idrelay throws or reports, with a one-line meaning.
 *
 * One map for all packages, so a `switch (error.code)` in user code sees the whole vocabulary and
 * `docs/errors.md` can be checked against it. Codes are namespaced by the package area that raises them.
 */
export const ERROR_CODES = {
  // core
  ERR_EVENT_INVALID: 'An identity event failed validation; `details.issues` lists each failing path.',
  ERR_EVENT_CONFLICT:
    'An event reused the source and id of a different event already ingested; the first one stands and the second is recorded as rejected.',
  ERR_EVENT_TYPE_UNKNOWN: 'An event type is not part of the idrelay catalogue.',
  ERR_SUBJECT_INVALID: 'A subject identifier does not follow RFC 9493.',
  ERR_AUDIENCE_INVALID: 'An audience specification is malformed.',
  ERR_INVALID_ARGUMENT: 'A function was called with an argument it cannot use.',

  // transports (shared)
  ERR_TRANSPORT_CLOSED: 'The transport was closed and cannot send.',
  ERR_TRANSPORT_TIMEOUT: 'The push service did not answer within the transport timeout.',
  ERR_TRANSPORT_NETWORK: 'The push service could not be reached (connection refused, reset or TLS failure).',
  ERR_TRANSPORT_PLATFORM_MISMATCH: 'A device of another platform was handed to this transport.',
  ERR_TRANSPORT_CONFIG: 'The transport options are incomplete or inconsistent.',

  // APNs
  ERR_APNS_PAYLOAD_TOO_LARGE: 'The APNs payload exceeds 4096 bytes (5120 for VoIP) and was not sent.',
  ERR_APNS_BAD_DEVICE_TOKEN: 'The device token is not a valid APNs token for this topic or environment.',
  ERR_APNS_UNREGISTERED: 'APNs reports the device token is no longer active for the topic (410).',
  ERR_APNS_PROVIDER_TOKEN: 'APNs rejected the provider authentication token (403).',
  ERR_APNS_KEY_INVALID: 'The APNs signing key (.p8) could not be loaded as a P-256 private key.',
  ERR_APNS_BAD_COLLAPSE_ID:
    'APNs refused the apns-collapse-id (400 BadCollapseId); transports fit collapse ids to 64 bytes, so this means a proxy or APNs changed the rule.',
  ERR_APNS_RATE_LIMITED:
    'APNs is throttling this device or provider token (429 TooManyRequests, TooManyProviderTokenUpdates); retry after `retryAfterMs`.',
  ERR_APNS_SERVICE_UNAVAILABLE: 'APNs failed or is shutting down (500, 503); retry later.',
  ERR_APNS_REJECTED: 'APNs refused the request (another 4xx reason); `reason` carries the APNs reason.',

  // FCM
  ERR_FCM_CREDENTIALS: 'The Firebase service-account credentials are missing or malformed.',
  ERR_FCM_PAYLOAD_TOO_LARGE: 'The FCM message exceeds 4096 bytes and was not sent.',
  ERR_FCM_INVALID_TOKEN:
    'FCM reports the registration token unregistered or invalid (UNREGISTERED, InvalidRegistration); prune the device.',
  ERR_FCM_RATE_LIMITED: 'FCM is throttling the sender or device (429 QUOTA_EXCEEDED); retry after `retryAfterMs`.',
  ERR_FCM_SERVICE_UNAVAILABLE: 'FCM failed (500 INTERNAL, 503 UNAVAILABLE); retry later.',
  ERR_FCM_REJECTED:
    "FCM refused the message (INVALID_ARGUMENT, SENDER_ID_MISMATCH, …); `reason` carries firebase-admin's code.",

  // Web Push
  ERR_WEBPUSH_PAYLOAD_TOO_LARGE: 'The Web Push plaintext exceeds 3993 bytes (RFC 8291 §4) and was not sent.',
  ERR_WEBPUSH_SUBSCRIPTION_INVALID: 'The push subscription has a malformed endpoint, p256dh or auth key.',
  ERR_WEBPUSH_VAPID_INVALID: 'The VAPID keys or subject are malformed (RFC 8292).',
  ERR_WEBPUSH_VAPID_REJECTED: 'The push service rejected the VAPID authorization (403).',
  ERR_WEBPUSH_SUBSCRIPTION_GONE: 'The push service reports the subscription expired or unsubscribed (404/410).',
  ERR_WEBPUSH_RATE_LIMITED: 'The push service is throttling the sender (429); retry after `retryAfterMs`.',
  ERR_WEBPUSH_SERVICE_UNAVAILABLE: 'The push service failed (5xx); retry later.',
  ERR_WEBPUSH_PAYLOAD_REJECTED: 'The push service refused the message body as too large (413).',
  ERR_WEBPUSH_REJECTED: 'The push service refused the message with a 4xx status; `reason` carries it.',

  // stores
  ERR_STORE_MIGRATION: 'A store schema migration failed or the schema is newer than this library.',
  ERR_STORE_LOCKED: 'The SQLite file is owned by another process; use PostgreSQL for several processes.',
  ERR_STORE_CLOSED: 'The store was closed.',
  ERR_STORE_CONFLICT: 'A concurrent update changed the record first (optimistic concurrency).',
  ERR_STORE_UNAVAILABLE: 'The database could not be reached.',
  ERR_STORE_STALE_CLAIM:
    "A claim's lease ended and another worker holds the record now: the late outcome was not applied (fencing).",
  ERR_DIRECTORY_NOT_FOUND: 'A directory write named a user or group that does not exist; nothing was changed.',
  ERR_DIRECTORY_CONFLICT:
    'A directory write would give a subject identifier to a second user; nothing was changed (`details.subject`).',
  ERR_DIRECTORY_INVALID: 'A user or group written to the directory is malformed; `details.issues` lists each problem.',
  ERR_STORE_QUERY: 'A database statement failed (constraint, disk full, I/O); `cause` holds the driver error.',

  // engine
  ERR_RULE_INVALID: 'A rule definition is malformed.',
  ERR_TEMPLATE_MISSING: 'No template matches the event type and locale, even after fallback.',
  ERR_TEMPLATE_INVALID: 'A template is malformed or references an unknown field.',
  ERR_TEMPLATE_UNSAFE:
    'A template places a field not marked lock-screen safe in visible push text, or reads a secret field (a number-matching code) anywhere in a push.',
  ERR_DEVICE_INVALID: 'A device registration is malformed.',
  ERR_DEVICE_LIMIT: 'The user already has the maximum number of devices.',
  ERR_NO_TRANSPORT: 'No transport is configured for the device platform.',
  ERR_DELIVERY_DEAD: 'A delivery exhausted its attempts and was dead-lettered.',
  ERR_DELIVERY_EXPIRED: "A delivery's expiry passed before it could be sent; it was not sent.",
  ERR_DEVICE_REMOVED: 'The device was unregistered before its delivery was sent; it was not sent.',
  ERR_RECIPIENT_FAILED:
    'Planning a notification for one recipient failed (a bad preference or directory value); the other recipients were planned and the failure was recorded.',
  ERR_CONSUMER_FAILED: 'A consumer of the outgoing log (a write-back, a subscriber) failed to take an entry.',
  ERR_RELAY_CLOSED: 'The relay was closed.',
  ERR_ACTION_TOKEN_INVALID:
    'An action token is unknown, already used, expired, or bound to another recipient or device.',
} as const;

/** A code from {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `code` is one of idrelay's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
