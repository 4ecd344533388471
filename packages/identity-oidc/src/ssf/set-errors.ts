import type { ErrorCode } from '@idrelay/core';

/**
 * RFC 8935 §2.4 / RFC 8936 §2.4 error codes (IANA "Security Event Token Error Codes"), by idrelay error code.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8935#section-2.4
 */
export const SET_ERROR_CODES: Partial<Record<ErrorCode, string>> = {
  ERR_SSF_SET_INVALID: 'invalid_request',
  ERR_SSF_SET_REPLAYED: 'invalid_request',
  ERR_SSF_SET_KEY: 'invalid_key',
  ERR_SSF_SET_ISSUER: 'invalid_issuer',
  ERR_SSF_SET_AUDIENCE: 'invalid_audience',
  ERR_SSF_UNAUTHORIZED: 'authentication_failed',
};
