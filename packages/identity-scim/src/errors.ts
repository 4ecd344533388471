import { type ErrorInfo, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_SCIM_UPSTREAM_AUTH_FAILED: ErrorInfo;
    ERR_SCIM_UPSTREAM_NOT_FOUND: ErrorInfo;
    ERR_SCIM_UPSTREAM_REFUSED: ErrorInfo;
    ERR_SCIM_UPSTREAM_UNAVAILABLE: ErrorInfo;
  }
}

/**
 * The error codes of the SCIM write-back ({@link createScimWriteBack}), registered with core on import so
 * `errorInfo(code)` knows their status and retryability. They are the `code` of a `failed` write-back result.
 */
export const SCIM_ERRORS = {
  ERR_SCIM_UPSTREAM_AUTH_FAILED: {
    status: 502,
    retryable: false,
    message: 'The upstream SCIM service refused the bearer token (401) or the right to change this resource (403).',
  },
  ERR_SCIM_UPSTREAM_NOT_FOUND: {
    status: 502,
    retryable: false,
    message: 'The upstream SCIM service has no such user or group (404).',
  },
  ERR_SCIM_UPSTREAM_REFUSED: {
    status: 502,
    retryable: false,
    message: 'The upstream SCIM service refused the PATCH (400, 409, 412 or another 4xx): it will not succeed as sent.',
  },
  ERR_SCIM_UPSTREAM_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The upstream SCIM service did not answer, timed out, was rate-limited (429) or failed (5xx): retry.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(SCIM_ERRORS);
