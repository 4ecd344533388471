/**
 * FCM HTTP v1 error bodies, shaped as Google returns them: a google.rpc.Status with an FcmError detail that
 * firebase-admin reads first when it maps a failure to a `messaging/…` code.
 *
 * @see https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode
 */

/** The `errorCode` values of `google.firebase.fcm.v1.FcmError`. */
export type FcmErrorCode =
  | 'UNSPECIFIED_ERROR'
  | 'INVALID_ARGUMENT'
  | 'UNREGISTERED'
  | 'SENDER_ID_MISMATCH'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'THIRD_PARTY_AUTH_ERROR';

/** An HTTP answer of the stand-in or the msw handlers, independent of the server that writes it. */
export interface FcmReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const STATUS_OF: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/**
 * Builds an FCM error reply: `{error: {code, message, status, details: [FcmError]}}`. `errorCode` is omitted for
 * errors FCM raises before it looks at the message (authentication), as the real service does.
 *
 * @example
 * ```ts
 * fcmErrorReply(404, 'Requested entity was not found.', 'UNREGISTERED');
 * ```
 */
export function fcmErrorReply(
  status: number,
  message: string,
  errorCode?: FcmErrorCode | (string & {}),
  headers: Record<string, string> = {},
): FcmReply {
  const error: Record<string, unknown> = { code: status, message, status: STATUS_OF[status] ?? 'UNKNOWN' };
  if (errorCode !== undefined) {
    error.details = [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode }];
  }
  return { status, headers: { 'content-type': 'application/json; charset=UTF-8', ...headers }, body: { error } };
}
