import { type ErrorInfo, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_OTDS_AUTH_FAILED: ErrorInfo;
    ERR_OTDS_FORBIDDEN: ErrorInfo;
    ERR_OTDS_NOT_FOUND: ErrorInfo;
    ERR_OTDS_REQUEST_REFUSED: ErrorInfo;
    ERR_OTDS_RATE_LIMITED: ErrorInfo;
    ERR_OTDS_UNAVAILABLE: ErrorInfo;
    ERR_OTDS_TIMEOUT: ErrorInfo;
    ERR_OTDS_RESPONSE_INVALID: ErrorInfo;
    ERR_OTDS_CHECKPOINT_INVALID: ErrorInfo;
  }
}

/**
 * The error codes of `@idrelay/identity-otds`, registered with core on import so `errorInfo(code)` knows their
 * status and retryability. Every error the package throws is an `IdrelayError` with one of these codes (or
 * `ERR_INVALID_ARGUMENT` for bad options); `details.status` carries the OTDS HTTP status where there was one.
 */
export const OTDS_ERRORS = {
  ERR_OTDS_AUTH_FAILED: {
    status: 502,
    retryable: false,
    message:
      'OTDS refused the configured credentials (user name and password, or OAuth client), or refused a fresh ticket or token.',
  },
  ERR_OTDS_FORBIDDEN: {
    status: 502,
    retryable: false,
    message: 'OTDS answered 403: the authenticated account lacks the right to read or change this object.',
  },
  ERR_OTDS_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'OTDS answered 404: the user or group does not exist.',
  },
  ERR_OTDS_REQUEST_REFUSED: {
    status: 502,
    retryable: false,
    message: 'OTDS refused the request (a 4xx other than 401, 403, 404 and 429); `details.status` and `details.body`.',
  },
  ERR_OTDS_RATE_LIMITED: {
    status: 503,
    retryable: true,
    message: 'OTDS kept answering 429 Too Many Requests after every retry.',
  },
  ERR_OTDS_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'OTDS could not be reached or kept answering 5xx after every retry.',
  },
  ERR_OTDS_TIMEOUT: {
    status: 504,
    retryable: true,
    message: 'OTDS did not answer within the timeout, on every attempt.',
  },
  ERR_OTDS_RESPONSE_INVALID: {
    status: 502,
    retryable: false,
    message:
      'OTDS answered with a body that is not the JSON the endpoint documents (malformed, wrong types, too large).',
  },
  ERR_OTDS_CHECKPOINT_INVALID: {
    status: 500,
    retryable: false,
    message:
      'The OTDS change poller was given a checkpoint it did not write (corrupt, truncated or of another version).',
  },
} as const satisfies Record<string, ErrorInfo>;

/** A code of {@link OTDS_ERRORS}. */
export type OtdsErrorCode = keyof typeof OTDS_ERRORS;

registerErrorCodes(OTDS_ERRORS);
