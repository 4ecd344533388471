/**
 * Validation of an FCM HTTP v1 `messages:send` body, following the rules FCM enforces and documents. The wire
 * format is snake_case (firebase-admin converts its camelCase `Message` before sending).
 *
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages
 */

/** FCM refuses larger messages with INVALID_ARGUMENT ("Message is too big"); topic messages allow 2048. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;
const FCM_MAX_TOPIC_PAYLOAD_BYTES = 2048;

const TTL = /^\d+(\.\d{1,9})?s$/;
const ANDROID_PRIORITIES = new Set(['normal', 'high', 'NORMAL', 'HIGH']);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function stringMap(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) return `Invalid value at '${path}': expected a map of strings`;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') return `Invalid value at '${path}[${key}]' (TYPE_STRING), ${JSON.stringify(entry)}`;
  }
  return undefined;
}

function optionalObject(value: unknown, path: string): string | undefined {
  return value === undefined || isObject(value) ? undefined : `Invalid value at '${path}': expected an object`;
}

/**
 * The byte size FCM's limit applies to here: the wire message as JSON without its target.
 *
 * @example
 * ```ts
 * fcmPayloadBytes({ token: 't', data: { a: 'b' } }); // 18, the length of {"data":{"a":"b"}}
 * ```
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
 */
export function fcmPayloadBytes(message: Json): number {
  const { token: _t, topic: _p, condition: _c, ...payload } = message;
  return Buffer.byteLength(JSON.stringify(payload));
}

/**
 * Checks a parsed `messages:send` request body; returns FCM's INVALID_ARGUMENT message text, or `undefined` when
 * the message would be accepted.
 *
 * @example
 * ```ts
 * validateFcmSendBody({ message: { token: 't', data: { n: 1 } } });
 * // "Invalid value at 'message.data[n]' (TYPE_STRING), 1"
 * ```
 */
export function validateFcmSendBody(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.message)) return "Invalid JSON payload received. Missing 'message'.";
  if (body.validate_only !== undefined && typeof body.validate_only !== 'boolean') {
    return "Invalid value at 'validate_only' (TYPE_BOOL)";
  }
  const message = body.message;
  const targets = ['token', 'topic', 'condition'].filter((key) => message[key] !== undefined);
  if (targets.length !== 1) return 'Exactly one of token, topic or condition must be specified.';
  const target = message[targets[0]!];
  if (typeof target !== 'string' || target.length === 0) return `Invalid value at 'message.${targets[0]}'`;
  const problem =
    stringMap(message.data, 'message.data') ??
    optionalObject(message.notification, 'message.notification') ??
    optionalObject(message.fcm_options, 'message.fcm_options') ??
    validateAndroid(message.android) ??
    validateApns(message.apns) ??
    validateWebpush(message.webpush);
  if (problem) return problem;
  const limit = targets[0] === 'token' ? FCM_MAX_PAYLOAD_BYTES : FCM_MAX_TOPIC_PAYLOAD_BYTES;
  const size = fcmPayloadBytes(message);
  if (size > limit) return `Message is too big: ${size} bytes exceeds the ${limit}-byte limit.`;
  return undefined;
}

function validateAndroid(android: unknown): string | undefined {
  if (android === undefined) return undefined;
  if (!isObject(android)) return "Invalid value at 'message.android': expected an object";
  if (android.priority !== undefined && !ANDROID_PRIORITIES.has(String(android.priority))) {
    return `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "${String(android.priority)}"`;
  }
  if (android.ttl !== undefined && (typeof android.ttl !== 'string' || !TTL.test(android.ttl))) {
    return `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(android.ttl)}`;
  }
  if (android.collapse_key !== undefined && typeof android.collapse_key !== 'string') {
    return "Invalid value at 'message.android.collapse_key' (TYPE_STRING)";
  }
  return (
    stringMap(android.data, 'message.android.data') ??
    optionalObject(android.notification, 'message.android.notification')
  );
}

function validateApns(apns: unknown): string | undefined {
  if (apns === undefined) return undefined;
  if (!isObject(apns)) return "Invalid value at 'message.apns': expected an object";
  return stringMap(apns.headers, 'message.apns.headers') ?? optionalObject(apns.payload, 'message.apns.payload');
}

function validateWebpush(webpush: unknown): string | undefined {
  if (webpush === undefined) return undefined;
  if (!isObject(webpush)) return "Invalid value at 'message.webpush': expected an object";
  return (
    stringMap(webpush.headers, 'message.webpush.headers') ??
    stringMap(webpush.data, 'message.webpush.data') ??
    optionalObject(webpush.notification, 'message.webpush.notification')
  );
}
