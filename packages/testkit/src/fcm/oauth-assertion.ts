import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** Google's OAuth 2.0 token endpoint: the `aud` firebase-admin (google-auth-library) puts in its assertion. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Either scope lets a token call FCM HTTP v1. */
const FCM_SCOPES = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];

/** What the token endpoint checks an assertion against. */
export interface AssertionPolicy {
  /** SPKI PEM (or KeyObject) of the service account's key. */
  publicKey: string | KeyObject;
  /** The service account's `client_email`, expected as `iss`. */
  clientEmail: string;
  /** Accepted `aud` values. */
  audiences: readonly string[];
  /** Milliseconds since the epoch. */
  now: () => number;
}

const decode = (part: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Verifies a JWT-bearer assertion (RFC 7523 §3) the way Google's token endpoint does for service accounts: RS256
 * signature by the account key, `iss`, `aud`, an FCM scope, and `iat`/`exp` at most an hour apart and current.
 * Returns Google's `error_description` on failure, `undefined` when valid.
 *
 * @example
 * ```ts
 * verifyServiceAccountAssertion(jwt, { publicKey, clientEmail, audiences: [GOOGLE_TOKEN_URL], now: Date.now });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 * @see https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests
 */
export function verifyServiceAccountAssertion(assertion: string, policy: AssertionPolicy): string | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.';
  const [h, p, s] = parts as [string, string, string];
  const header = decode(h);
  const claims = decode(p);
  if (!header || !claims) return 'Invalid JWT: malformed header or claims.';
  if (header.alg !== 'RS256') return `Invalid JWT: unsupported algorithm ${String(header.alg)}.`;
  const key = typeof policy.publicKey === 'string' ? createPublicKey(policy.publicKey) : policy.publicKey;
  if (!verify('RSA-SHA256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
    return 'Invalid JWT Signature.';
  }
  if (claims.iss !== policy.clientEmail) return 'Invalid JWT: issuer is not the service account.';
  if (typeof claims.aud !== 'string' || !policy.audiences.includes(claims.aud)) {
    return 'Invalid JWT: audience is not the token endpoint.';
  }
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (!scopes.some((scope) => FCM_SCOPES.includes(scope))) return 'Invalid JWT: no scope grants FCM access.';
  const now = Math.floor(policy.now() / 1000);
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || exp <= now || iat > now + 300) {
    return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
  }
  return undefined;
}
