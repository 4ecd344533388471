/** An error that retrying the same request will meet again. */
const final = (status: number, message: string): ErrorInfo => ({ message, status, retryable: false });
/** An error a later retry of the same request may get past (throttling, an outage, a timeout). */
const retryable = (status: number, message: string): ErrorInfo => ({ message, status, retryable: true });

/**
 * Every error code idrelay's own packages throw or report: its meaning, the HTTP status a server answers with when
 * the error ends a request (RFC 9457 problem details), and whether the same request may succeed if retried later.
 *
 * One table for all of idrelay's packages, so a `switch (error.code)` in user code sees the whole vocabulary and
 * `docs/errors.md` is generated from it. Codes are namespaced by the package area that raises them. Other packages
 * (a partner's connector) add their own with {@link registerErrorCodes} and interface merging on
 * {@link ErrorCodeRegistry}.
 */
export const CORE_ERRORS = {
  // core
  ERR_EVENT_INVALID: final(400, 'An identity event failed validation; `details.issues` lists each failing path.'),
  ERR_EVENT_CONFLICT: final(
    409,
    'An event reused the source and id of a different event already ingested; the first one stands and the second is recorded as rejected.',
  ),
  ERR_EVENT_TYPE_UNKNOWN: final(400, 'An event type is not part of the idrelay catalogue.'),
  ERR_SUBJECT_INVALID: final(400, 'A subject identifier does not follow RFC 9493.'),
  ERR_AUDIENCE_INVALID: final(400, 'An audience specification is malformed.'),
  ERR_INVALID_ARGUMENT: final(400, 'A function was called with an argument it cannot use.'),

  // transports (shared)
  ERR_TRANSPORT_CLOSED: retryable(503, 'The transport was closed and cannot send.'),
  ERR_TRANSPORT_TIMEOUT: retryable(504, 'The push service did not answer within the transport timeout.'),
  ERR_TRANSPORT_NETWORK: retryable(
    502,
    'The push service could not be reached (connection refused, reset or TLS failure).',
  ),
  ERR_TRANSPORT_PLATFORM_MISMATCH: final(400, 'A device of another platform was handed to this transport.'),
  ERR_TRANSPORT_CONFIG: final(500, 'The transport options are incomplete or inconsistent.'),

  // APNs
  ERR_APNS_PAYLOAD_TOO_LARGE: final(413, 'The APNs payload exceeds 4096 bytes (5120 for VoIP) and was not sent.'),
  ERR_APNS_BAD_DEVICE_TOKEN: final(400, 'The device token is not a valid APNs token for this topic or environment.'),
  ERR_APNS_UNREGISTERED: final(410, 'APNs reports the device token is no longer active for the topic (410).'),
  ERR_APNS_PROVIDER_TOKEN: final(502, 'APNs rejected the provider authentication token (403).'),
  ERR_APNS_KEY_INVALID: final(500, 'The APNs signing key (.p8) could not be loaded as a P-256 private key.'),
  ERR_APNS_BAD_COLLAPSE_ID: final(
    502,
    'APNs refused the apns-collapse-id (400 BadCollapseId); transports fit collapse ids to 64 bytes, so this means a proxy or APNs changed the rule.',
  ),
  ERR_APNS_RATE_LIMITED: retryable(
    429,
    'APNs is throttling this device or provider token (429 TooManyRequests, TooManyProviderTokenUpdates); retry after `retryAfterMs`.',
  ),
  ERR_APNS_SERVICE_UNAVAILABLE: retryable(503, 'APNs failed or is shutting down (500, 503); retry later.'),
  ERR_APNS_REJECTED: final(422, 'APNs refused the request (another 4xx reason); `reason` carries the APNs reason.'),

  // FCM
  ERR_FCM_CREDENTIALS: final(500, 'The Firebase service-account credentials are missing or malformed.'),
  ERR_FCM_PAYLOAD_TOO_LARGE: final(413, 'The FCM message exceeds 4096 bytes and was not sent.'),
  ERR_FCM_INVALID_TOKEN: final(
    410,
    'FCM reports the registration token unregistered or invalid (UNREGISTERED, InvalidRegistration); prune the device.',
  ),
  ERR_FCM_RATE_LIMITED: retryable(
    429,
    'FCM is throttling the sender or device (429 QUOTA_EXCEEDED); retry after `retryAfterMs`.',
  ),
  ERR_FCM_SERVICE_UNAVAILABLE: retryable(503, 'FCM failed (500 INTERNAL, 503 UNAVAILABLE); retry later.'),
  ERR_FCM_REJECTED: final(
    422,
    "FCM refused the message (INVALID_ARGUMENT, SENDER_ID_MISMATCH, …); `reason` carries firebase-admin's code.",
  ),

  // Web Push
  ERR_WEBPUSH_PAYLOAD_TOO_LARGE: final(
    413,
    'The Web Push plaintext exceeds 3993 bytes (RFC 8291 §4) and was not sent.',
  ),
  ERR_WEBPUSH_SUBSCRIPTION_INVALID: final(400, 'The push subscription has a malformed endpoint, p256dh or auth key.'),
  ERR_WEBPUSH_VAPID_INVALID: final(500, 'The VAPID keys or subject are malformed (RFC 8292).'),
  ERR_WEBPUSH_VAPID_REJECTED: final(502, 'The push service rejected the VAPID authorization (403).'),
  ERR_WEBPUSH_SUBSCRIPTION_GONE: final(
    410,
    'The push service reports the subscription expired or unsubscribed (404/410).',
  ),
  ERR_WEBPUSH_RATE_LIMITED: retryable(
    429,
    'The push service is throttling the sender (429); retry after `retryAfterMs`.',
  ),
  ERR_WEBPUSH_SERVICE_UNAVAILABLE: retryable(503, 'The push service failed (5xx); retry later.'),
  ERR_WEBPUSH_PAYLOAD_REJECTED: final(413, 'The push service refused the message body as too large (413).'),
  ERR_WEBPUSH_REJECTED: final(422, 'The push service refused the message with a 4xx status; `reason` carries it.'),

  // stores
  ERR_STORE_MIGRATION: final(500, 'A store schema migration failed or the schema is newer than this library.'),
  ERR_STORE_LOCKED: final(500, 'The SQLite file is owned by another process; use PostgreSQL for several processes.'),
  ERR_STORE_CLOSED: retryable(503, 'The store was closed.'),
  ERR_STORE_CONFLICT: retryable(409, 'A concurrent update changed the record first (optimistic concurrency).'),
  ERR_STORE_UNAVAILABLE: retryable(503, 'The database could not be reached.'),
  ERR_STORE_STALE_CLAIM: final(
    409,
    "A claim's lease ended and another worker holds the record now: the late outcome was not applied (fencing).",
  ),
  ERR_DIRECTORY_NOT_FOUND: final(
    404,
    'A directory write named a user or group that does not exist; nothing was changed.',
  ),
  ERR_DIRECTORY_CONFLICT: final(
    409,
    'A directory write would give a subject identifier to a second user; nothing was changed (`details.subject`).',
  ),
  ERR_DIRECTORY_INVALID: final(
    400,
    'A user or group written to the directory is malformed; `details.issues` lists each problem.',
  ),
  ERR_STORE_QUERY: final(
    500,
    'A database statement failed (constraint, disk full, I/O); `cause` holds the driver error.',
  ),

  // engine
  ERR_RULE_INVALID: final(400, 'A rule definition is malformed.'),
  ERR_TEMPLATE_MISSING: final(500, 'No template matches the event type and locale, even after fallback.'),
  ERR_TEMPLATE_INVALID: final(400, 'A template is malformed or references an unknown field.'),
  ERR_TEMPLATE_UNSAFE: final(
    400,
    'A template places a field not marked lock-screen safe in visible push text, or reads a secret field (a number-matching code) anywhere in a push.',
  ),
  ERR_DEVICE_INVALID: final(400, 'A device registration is malformed.'),
  ERR_DEVICE_LIMIT: final(409, 'The user already has the maximum number of devices.'),
  ERR_NO_TRANSPORT: final(500, 'No transport is configured for the device platform.'),
  ERR_DELIVERY_DEAD: final(502, 'A delivery exhausted its attempts and was dead-lettered.'),
  ERR_DELIVERY_EXPIRED: final(410, "A delivery's expiry passed before it could be sent; it was not sent."),
  ERR_DEVICE_REMOVED: final(410, 'The device was unregistered before its delivery was sent; it was not sent.'),
  ERR_RECIPIENT_FAILED: final(
    500,
    'Planning a notification for one recipient failed (a bad preference or directory value); the other recipients were planned and the failure was recorded.',
  ),
  ERR_CONSUMER_FAILED: retryable(
    502,
    'A consumer of the outgoing log (a write-back, a subscriber) failed to take an entry.',
  ),
  ERR_RELAY_CLOSED: retryable(503, 'The relay was closed.'),

  // flows
  ERR_FLOW_INVALID: final(400, 'A flow definition is malformed; `details.issues` lists each problem.'),
  ERR_FLOW_UNKNOWN: final(404, 'No flow definition is registered for the kind (and version) named.'),
  ERR_FLOW_NOT_FOUND: final(404, 'No flow has the id given.'),
  ERR_FLOW_INPUT_INVALID: final(400, "A flow's start input is malformed (a missing requester, a bad audience)."),
  ERR_FLOW_DECIDED: final(409, 'The request was already decided (here or on another device) or its flow ended.'),
  ERR_FLOW_NOT_APPROVER: final(403, "The responder is not among the current step's approvers."),
  ERR_FLOW_SOD: final(
    403,
    'Segregation of duties: the requester or author of a request can never approve it; the flow is unchanged.',
  ),
  ERR_FLOW_FUNCTION_FAILED: retryable(
    500,
    "A flow's code step threw (or named a function that is not registered); the step is tried again at its status-check interval.",
  ),
  ERR_FLOW_MAX_TRANSITIONS: final(
    409,
    'A flow reached its maximum number of transitions and was terminated; `details.reason` says where.',
  ),
  ERR_ACTION_TOKEN_INVALID: final(
    403,
    'An action token is unknown, already used, expired, or bound to another recipient or device.',
  ),

  // responses from devices (docs/protocol.md)
  ERR_ACTION_REQUEST_INVALID: final(
    400,
    'A response or details request is malformed: not JSON, or without a `token` and a `proof` string.',
  ),
  ERR_ACTION_TOKEN_UNKNOWN: final(403, 'The action token is unknown: never issued, forged, or altered.'),
  ERR_ACTION_TOKEN_EXPIRED: final(410, 'The action token expired before the response arrived.'),
  ERR_ACTION_TOKEN_USED: final(409, 'The action token was already used: a response is accepted once.'),
  ERR_ACTION_TOKEN_REVOKED: final(
    409,
    'The action token was revoked: the request was decided on another device, or the device was unenrolled.',
  ),
  ERR_ACTION_PROOF_INVALID: final(
    401,
    'The proof is not a compact JWS of type `idrelay-response+jwt`, or its claims are missing or do not bind this token (`ath`), method (`htm`) and URL (`htu`).',
  ),
  ERR_ACTION_SIGNATURE_INVALID: final(
    401,
    "The proof's signature is missing or does not verify with the enrolled key of the device it names (`kid`).",
  ),
  ERR_ACTION_SIGNER_MISMATCH: final(
    403,
    "The proof names the token's device but was signed by the key of another device enrolled by the same user.",
  ),
  ERR_ACTION_WRONG_DEVICE: final(
    403,
    'The proof was signed by another device of the recipient, not by the device the token was sent to.',
  ),
  ERR_ACTION_WRONG_RECIPIENT: final(
    403,
    "The proof was signed by a device of another user than the token's recipient.",
  ),
  ERR_ACTION_PROOF_STALE: final(
    401,
    "The proof's `iat` lies outside the accepted clock skew (too old, or in the future); sign a fresh proof.",
  ),
  ERR_ACTION_PROOF_REPLAYED: final(409, "The proof's `jti` was already used: every proof is single use."),
  ERR_ACTION_DECISION_NOT_ALLOWED: final(422, 'The decision is not one of those the action token allows.'),
  ERR_ACTION_CODE_MISMATCH: final(
    422,
    'The number-matching code is missing or wrong; `details.attemptsLeft` says how many tries remain.',
  ),
  ERR_ACTION_ATTEMPTS_EXCEEDED: final(
    403,
    'Too many wrong number-matching codes: the request failed closed and its tokens were revoked.',
  ),
  ERR_ACTION_ALREADY_DECIDED: final(
    409,
    'The request this response answers was already decided (or expired); nothing was changed.',
  ),
  ERR_ACTION_NO_HANDLER: final(500, "No response handler is registered for the token's flow kind."),

  // enrolment of device keys
  ERR_ENROL_INVALID: final(
    400,
    'An enrolment request is malformed (device id, platform address, algorithm, or neither code nor bearer).',
  ),
  ERR_ENROL_CODE_INVALID: final(
    401,
    'The enrolment code is unknown, already used or expired (which one is not said, to help no guesser).',
  ),
  ERR_ENROL_BEARER_INVALID: final(401, 'The bearer token was refused by the configured `verifyBearer`.'),
  ERR_ENROL_KEY_INVALID: final(
    400,
    'The public key is not a P-256 (ES256) or Ed25519 key of the stated algorithm, or not a valid point.',
  ),
  ERR_ENROL_DEVICE_CONFLICT: final(409, 'The device id is enrolled by another user; that user must unenrol it first.'),

  // login verification (number matching)
  ERR_VERIFICATION_INVALID: final(400, 'A verification request is malformed (user, application, TTL out of range).'),
  ERR_VERIFICATION_NOT_FOUND: final(404, 'No verification has this id.'),
  ERR_VERIFICATION_NO_DEVICE: final(
    409,
    'The user has no enrolled device (one with a public key) to receive a verification push.',
  ),
  ERR_VERIFICATION_RATE_LIMITED: retryable(
    429,
    'Too many verification pushes for this user recently (push-bombing defence); retry after `details.retryAfterMs`.',
  ),

  // CIBA (the relay as an OpenID Provider's authentication device)
  ERR_CIBA_RESULT_FAILED: retryable(
    502,
    'The OpenID Provider failed to take the outcome of a CIBA login verification (`backchannelResult`); the write-back retries.',
  ),

  // OIDC resource server (bearer tokens)
  ERR_OIDC_TOKEN_MISSING: final(401, 'The request carries no `Authorization: Bearer` token (RFC 6750 §2.1).'),
  ERR_OIDC_TOKEN_INVALID: final(
    401,
    'The bearer token was refused: expired, inactive, bad signature or algorithm, wrong issuer or audience, or a required scope missing.',
  ),
  ERR_OIDC_UNAVAILABLE: retryable(
    503,
    'The OpenID Provider could not be reached for discovery, keys or introspection; retry later.',
  ),

  // Shared Signals receiver (RFC 8935 push delivery, RFC 8417 SETs)
  ERR_SSF_SET_INVALID: final(
    400,
    'A Security Event Token is malformed or breaks the SSF profile (not a JWS, wrong `typ`, `sub` or `exp` present, not one event, bad JSON, too large); RFC 8935 `invalid_request`.',
  ),
  ERR_SSF_SET_KEY: final(
    400,
    "A SET's signature does not verify against the transmitter's keys, or its algorithm is not allowed; RFC 8935 `invalid_key`.",
  ),
  ERR_SSF_SET_ISSUER: final(400, "A SET's `iss` is not the configured transmitter's; RFC 8935 `invalid_issuer`."),
  ERR_SSF_SET_AUDIENCE: final(400, "A SET's `aud` does not name this receiver; RFC 8935 `invalid_audience`."),
  ERR_SSF_SET_REPLAYED: final(
    400,
    'A SET with this `jti` was already received, or its `iat` lies outside the accepted window; RFC 8935 `invalid_request`.',
  ),
  ERR_SSF_UNAUTHORIZED: final(
    401,
    'A push delivery came without the authorization the stream configured; RFC 8935 `authentication_failed`.',
  ),
  ERR_SSF_TRANSMITTER_UNAVAILABLE: retryable(
    503,
    'An SSF transmitter could not be reached or failed (network error, 5xx) on discovery or a stream management call.',
  ),
  ERR_SSF_TRANSMITTER_REFUSED: final(
    502,
    'An SSF transmitter refused a management call (4xx; `details.status`) or answered with unusable metadata (wrong `issuer`, missing endpoint).',
  ),
  ERR_SSF_POLL_FAILED: retryable(
    502,
    'An RFC 8936 poll request failed (network, non-200 answer, or a body without `sets`); acknowledgements are kept for the next poll.',
  ),
} as const satisfies Record<string, ErrorInfo>;

/** What idrelay knows about one error code. */
export interface ErrorInfo {
  /** One line saying what the code means. */
  readonly message: string;
  /** The HTTP status for a problem+json answer (RFC 9457 §3.1.3): 4xx the caller's fault, 5xx the server's. */
  readonly status: number;
  /** True when retrying the same request later may succeed (a 429, a 503, a timeout); false when it never will. */
  readonly retryable: boolean;
}

/** A code from {@link CORE_ERRORS}: the codes idrelay's own packages use. */
export type CoreErrorCode = keyof typeof CORE_ERRORS;

type CoreErrorTable = { readonly [C in CoreErrorCode]: ErrorInfo };

/**
 * Every error code known to the type system. A package that declares its own codes adds them here by interface
 * merging, and registers the same codes at run time with {@link registerErrorCodes}.
 *
 * @example
 * ```ts
 * declare module '@idrelay/core' {
 *   interface ErrorCodeRegistry {
 *     ERR_ACME_LDAP_BIND: ErrorInfo;
 *   }
 * }
 * ```
 */
export interface ErrorCodeRegistry extends CoreErrorTable {}

/** A code from {@link ErrorCodeRegistry}: idrelay's codes and those other packages declared. */
export type ErrorCode = keyof ErrorCodeRegistry & string;

/**
 * idrelay's codes with their one-line meaning (`code → message`), as before status and retryability were added;
 * {@link errorInfo} gives all three, for registered codes too.
 */
export const ERROR_CODES: { readonly [C in CoreErrorCode]: string } = Object.freeze(
  Object.fromEntries(Object.entries(CORE_ERRORS).map(([code, info]) => [code, info.message])) as {
    [C in CoreErrorCode]: string;
  },
);
