import { IdrelayError } from '@idrelay/core';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';

/**
 * The claims of a verified Security Event Token, as SSF 1.0 profiles RFC 8417: no `sub`, no `exp`, one event.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8417#section-2.2
 */
export interface SetClaims extends JWTPayload {
  iss: string;
  jti: string;
  iat: number;
  /** Event type URI → event payload; exactly one entry. */
  events: Record<string, Record<string, unknown>>;
  /** The RFC 9493 subject identifier of the whole SET (SSF §"Subject Members in SSF Events"). */
  sub_id?: unknown;
  /** Transaction id shared by SETs with the same cause. */
  txn?: string;
}

/** Options of {@link createSetVerifier}. */
export interface SetVerifierOptions {
  /** The transmitter's issuer, compared exactly with `iss`. */
  issuer: string;
  /** This receiver's audience value(s) from the stream configuration; `aud` must name one. */
  audience: string | readonly string[];
  /** The transmitter's keys: a JWKS document, or a jose key resolver such as `createRemoteJWKSet(jwksUri)`. */
  keys: JSONWebKeySet | JWTVerifyGetKey;
  /** Allowed signature algorithms; default `['RS256', 'ES256']`. HMAC and `none` are refused whatever is listed. */
  algorithms?: readonly string[];
  /** How far `iat` may lie from now, in seconds, either side; default 300. */
  maxIatSkewSeconds?: number;
  /** Clock, for tests; default `Date.now`. */
  now?: () => number;
}

/** Verifies one compact SET; throws {@link IdrelayError} with an `ERR_SSF_*` code. */
export type SetVerifier = (compact: string) => Promise<SetClaims>;

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;

/**
 * Creates a SET verifier following the SSF 1.0 SET profile: header `typ` `secevent+jwt`, signature against the
 * transmitter's keys with an asymmetric algorithm from the allow-list, exact `iss`, `aud` naming this receiver,
 * `jti`, `iat` within the skew window and `events`, no `sub` or `exp`, exactly one event. Replay by `jti` is the
 * caller's concern (the push receiver keeps a window of seen `jti`s).
 *
 * @see https://openid.net/specs/openid-sharedsignals-framework-1_0.html (Security Event Token Profile)
 * @see https://www.rfc-editor.org/rfc/rfc8417
 * @example
 * ```ts
 * const verify = createSetVerifier({ issuer: 'https://tx.example.com', audience: 'https://rx.example.com', keys: jwks });
 * const claims = await verify(compactSet);
 * ```
 */
export function createSetVerifier(options: SetVerifierOptions): SetVerifier {
  const algorithms = [...(options.algorithms ?? ['RS256', 'ES256'])];
  const refused = algorithms.filter((alg) => !ASYMMETRIC.test(alg));
  if (refused.length > 0) {
    // A symmetric algorithm would let anyone holding the transmitter's *public* key forge SETs.
    throw new TypeError(`SET algorithms must be asymmetric signatures; refused: ${refused.join(', ')}`);
  }
  const getKey = typeof options.keys === 'function' ? options.keys : createLocalJWKSet(options.keys);
  const skew = options.maxIatSkewSeconds ?? 300;
  const now = options.now ?? Date.now;
  const audience = typeof options.audience === 'string' ? options.audience : [...options.audience];

  return async (compact) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(compact, getKey, {
        issuer: options.issuer,
        audience,
        typ: 'secevent+jwt',
        algorithms,
        requiredClaims: ['jti', 'iat', 'events'],
        currentDate: new Date(now()),
      }));
    } catch (error) {
      throw wrapJoseError(error);
    }
    return checkProfile(payload, now() / 1000, skew);
  };
}

function checkProfile(payload: JWTPayload, nowSeconds: number, skew: number): SetClaims {
  if (payload.sub !== undefined || payload.exp !== undefined) {
    throw invalid('A SET carries no `sub` or `exp` claim (SSF 1.0 SET profile); the subject goes in `sub_id`');
  }
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 256) {
    throw invalid('`jti` must be a string of 1 to 256 characters');
  }
  const iat = payload.iat;
  if (typeof iat !== 'number' || Math.abs(nowSeconds - iat) > skew) {
    throw new IdrelayError('ERR_SSF_SET_REPLAYED', `\`iat\` is more than ${skew} s from now`, {
      details: { iat, now: Math.floor(nowSeconds) },
    });
  }
  const events = payload.events;
  if (events === null || typeof events !== 'object' || Array.isArray(events)) {
    throw invalid('`events` must be an object of event type URI to payload');
  }
  const entries = Object.entries(events);
  if (entries.length !== 1) throw invalid(`A SET holds exactly one event; this one holds ${entries.length}`);
  const [, body] = entries[0] as [string, unknown];
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('The event payload must be an object');
  return payload as SetClaims;
}

function invalid(message: string): IdrelayError<'ERR_SSF_SET_INVALID'> {
  return new IdrelayError('ERR_SSF_SET_INVALID', message);
}

/** jose's error classes carry a `code`; each maps to one RFC 8935 error, with the original kept as `cause`. */
function wrapJoseError(error: unknown): IdrelayError {
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new IdrelayError('ERR_SSF_SET_ISSUER', error.message, { cause: error });
    if (error.claim === 'aud') return new IdrelayError('ERR_SSF_SET_AUDIENCE', error.message, { cause: error });
    return new IdrelayError('ERR_SSF_SET_INVALID', error.message, { cause: error, details: { claim: error.claim } });
  }
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWKSNoMatchingKey ||
    error instanceof errors.JWKSMultipleMatchingKeys ||
    error instanceof errors.JOSEAlgNotAllowed
  ) {
    return new IdrelayError('ERR_SSF_SET_KEY', error.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new IdrelayError('ERR_SSF_SET_INVALID', message, { cause: error });
}
