import { type ErrorInfo, IdrelayError, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_LDAP_CONFIG: ErrorInfo;
    ERR_LDAP_CONNECT: ErrorInfo;
    ERR_LDAP_BIND: ErrorInfo;
    ERR_LDAP_OPERATION: ErrorInfo;
    ERR_LDAP_FILTER: ErrorInfo;
    ERR_LDAP_DN: ErrorInfo;
    ERR_LDAP_CHECKPOINT: ErrorInfo;
  }
}

/** The error codes of `@idrelay/identity-ldap`, with status and retryability; registered on import. */
export const LDAP_ERRORS = {
  ERR_LDAP_CONFIG: {
    status: 500,
    retryable: false,
    message:
      'The LDAP connector options are incomplete or unsafe (e.g. a password over plain ldap:// to a remote host).',
  },
  ERR_LDAP_CONNECT: {
    status: 503,
    retryable: true,
    message: 'The LDAP server could not be reached, StartTLS failed, or the connection timed out.',
  },
  ERR_LDAP_BIND: { status: 502, retryable: false, message: 'The LDAP server refused the bind DN and password.' },
  ERR_LDAP_OPERATION: {
    status: 502,
    retryable: true,
    message: 'An LDAP search or write failed; `details.resultCode` holds the LDAP result code (RFC 4511 §4.1.9).',
  },
  ERR_LDAP_FILTER: {
    status: 400,
    retryable: false,
    message: 'An attribute filter names an attribute the mapping does not know, or is malformed.',
  },
  ERR_LDAP_DN: { status: 400, retryable: false, message: 'A distinguished name is malformed (RFC 4514).' },
  ERR_LDAP_CHECKPOINT: {
    status: 400,
    retryable: false,
    message: 'A change-feed checkpoint is not one this feed wrote, or belongs to another mode.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(LDAP_ERRORS);

/** A code of this package. */
export type LdapErrorCode = keyof typeof LDAP_ERRORS;

const RETRYABLE_RESULT_CODES = new Set([3, 11, 51, 52, 80]);

/**
 * Wraps an ldapts failure as an {@link IdrelayError}: refused credentials as `ERR_LDAP_BIND`, socket and TLS
 * failures as `ERR_LDAP_CONNECT`, LDAP result codes as `ERR_LDAP_OPERATION` with `details.resultCode`.
 */
export function ldapError(error: unknown, action: string): IdrelayError {
  if (error instanceof IdrelayError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'number') {
    if (code === 49) return new IdrelayError('ERR_LDAP_BIND', `${action}: invalid credentials`, { cause: error });
    return new IdrelayError('ERR_LDAP_OPERATION', `${action}: ${message}`, {
      cause: error,
      details: { resultCode: code, retryable: RETRYABLE_RESULT_CODES.has(code) },
    });
  }
  return new IdrelayError('ERR_LDAP_CONNECT', `${action}: ${message}`, { cause: error });
}

/** The LDAP result code (RFC 4511 §4.1.9) of an ldapts error, when it carries one. */
export function resultCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return code;
  const inner = (error as { cause?: unknown } | undefined)?.cause;
  const nested = (inner as { code?: unknown } | undefined)?.code;
  return typeof nested === 'number' ? nested : undefined;
}
