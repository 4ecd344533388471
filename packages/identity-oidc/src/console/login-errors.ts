import { type ErrorInfo, registerErrorCodes } from '@idrelay/core';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_OIDC_LOGIN_FAILED: ErrorInfo;
  }
}

/** Console login's error codes, registered with core when the package is imported. */
export const LOGIN_ERRORS = {
  ERR_OIDC_LOGIN_FAILED: {
    status: 400,
    retryable: false,
    message:
      'A console login callback was refused (`details.reason`: transaction, state, nonce, grant, id-token, denied, step-up, subject); start the login again.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(LOGIN_ERRORS);

/** Why a callback was refused: `details.reason` of `ERR_OIDC_LOGIN_FAILED`. */
export type LoginFailureReason =
  /** No login transaction for this browser: no or forged cookie, expired, or already used (a replayed callback). */
  | 'transaction'
  /** `state` in the callback is not the transaction's (CSRF, or a response meant for another login). */
  | 'state'
  /** The ID token's `nonce` is not the transaction's (a replayed or injected ID token). */
  | 'nonce'
  /** The token endpoint refused the code: used before, expired, or the PKCE verifier does not match. */
  | 'grant'
  /** The ID token is invalid: signature, issuer, audience, expiry, or `auth_time` older than `max_age`. */
  | 'id-token'
  /** The OP answered the authorization request with an error (`details.error`, e.g. `access_denied`). */
  | 'denied'
  /** A step-up login came back without the `acr` asked for. */
  | 'step-up'
  /** A step-up login came back for another user than the session that asked for it. */
  | 'subject';
