import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { type Clock, IdrelayError, systemClock } from '@idrelay/core';

/** A `.p8` signing key as Apple hands it out (PKCS#8 PEM), its bytes, or an already loaded `KeyObject`. */
export type ApnsSigningKey = string | Buffer | KeyObject;

/** Options of {@link createProviderTokenSource}. */
export interface ProviderTokenOptions {
  /** The `.p8` key from Apple Developer → Keys (ES256, P-256). */
  signingKey: ApnsSigningKey;
  /** The 10-character Team ID: the JWT `iss` claim. */
  teamId: string;
  /** The 10-character Key ID of the `.p8` key: the JWT header `kid`. */
  keyId: string;
  /** Time source for `iat` and the refresh schedule; default the system clock. */
  clock?: Clock;
  /** Age at which the token is re-signed; between 20 and 55 minutes, default 50. */
  refreshAfterMs?: number;
}

/** Hands out the provider authentication token, re-signing it only as often as Apple allows. */
export interface ProviderTokenSource {
  /** The token to send now: the cached one, or a new one once it is {@link ProviderTokenOptions.refreshAfterMs} old. */
  current(): string;
  /**
   * Called after APNs answered `403 ExpiredProviderToken` for `used`. Re-signs when `used` is still the cached token
   * and at least 20 minutes old, and returns the new token; returns `undefined` when re-signing now would break
   * Apple's "no more than once every 20 minutes" rule (a young token rejected as expired means a skewed clock, so a
   * new one would not help). When another request already replaced `used`, returns the replacement.
   */
  refreshAfterExpiry(used: string): string | undefined;
}

/** Apple: "Refresh your token no more than once every 20 minutes and no less than once every 60 minutes." */
export const MIN_TOKEN_REFRESH_MS = 20 * 60_000;
const MAX_TOKEN_REFRESH_MS = 55 * 60_000;
const DEFAULT_TOKEN_REFRESH_MS = 50 * 60_000;

/**
 * Loads and checks an APNs signing key: it must be an EC P-256 private key (the `.p8` file Apple issues).
 *
 * @throws IdrelayError `ERR_APNS_KEY_INVALID` when the key cannot be parsed or is not P-256.
 * @see https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
 * @example
 * ```ts
 * const key = loadSigningKey(readFileSync('AuthKey_ABC123DEFG.p8', 'utf8'));
 * ```
 */
export function loadSigningKey(key: ApnsSigningKey): KeyObject {
  let object: KeyObject;
  try {
    object = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  } catch (cause) {
    throw new IdrelayError('ERR_APNS_KEY_INVALID', 'The APNs signing key is not a PEM private key.', { cause });
  }
  if (object.type !== 'private' || object.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new IdrelayError('ERR_APNS_KEY_INVALID', 'The APNs signing key must be an EC P-256 private key (.p8).', {
      details: { type: object.type, keyType: object.asymmetricKeyType },
    });
  }
  return object;
}

/**
 * Creates the provider-token cache for one (team, key): an ES256 JWT with `kid` in the header and `iss` + `iat` as
 * claims, signed once and reused by every connection until it is `refreshAfterMs` old (50 minutes by default, so it
 * is never older than 60).
 *
 * @throws IdrelayError `ERR_APNS_KEY_INVALID` for a bad key, `ERR_TRANSPORT_CONFIG` for a refresh outside 20–55 min.
 * @see https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
 * @example
 * ```ts
 * const tokens = createProviderTokenSource({ signingKey: p8, teamId: 'DEF123GHIJ', keyId: 'ABC123DEFG' });
 * headers.authorization = `bearer ${tokens.current()}`;
 * ```
 */
export function createProviderTokenSource(options: ProviderTokenOptions): ProviderTokenSource {
  const key = loadSigningKey(options.signingKey);
  const clock = options.clock ?? systemClock;
  const refreshAfterMs = options.refreshAfterMs ?? DEFAULT_TOKEN_REFRESH_MS;
  if (!(refreshAfterMs >= MIN_TOKEN_REFRESH_MS && refreshAfterMs <= MAX_TOKEN_REFRESH_MS)) {
    throw new IdrelayError('ERR_TRANSPORT_CONFIG', 'tokenRefreshMs must be between 20 and 55 minutes.', {
      details: { tokenRefreshMs: refreshAfterMs },
    });
  }
  const header = base64url(JSON.stringify({ alg: 'ES256', kid: options.keyId }));
  let token = '';
  let issuedAt = 0;

  const issue = (): string => {
    issuedAt = clock.now();
    const claims = base64url(JSON.stringify({ iss: options.teamId, iat: Math.floor(issuedAt / 1000) }));
    const input = `${header}.${claims}`;
    // JWS ES256 wants the raw r‖s signature (RFC 7518 §3.4), not DER.
    const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    token = `${input}.${signature.toString('base64url')}`;
    return token;
  };

  return {
    current() {
      if (token === '' || clock.now() - issuedAt >= refreshAfterMs) return issue();
      return token;
    },
    refreshAfterExpiry(used) {
      if (used !== token) return token;
      if (clock.now() - issuedAt < MIN_TOKEN_REFRESH_MS) return undefined;
      return issue();
    },
  };
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
