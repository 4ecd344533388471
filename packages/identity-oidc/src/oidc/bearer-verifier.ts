import { IdrelayError } from '@idrelay/core';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import * as client from 'openid-client';

/** Options of {@link createBearerVerifier}. */
export interface BearerVerifierOptions {
  /** The OpenID Provider's issuer; its metadata comes from discovery (`/.well-known/openid-configuration`). */
  issuer: string | URL;
  /** Our API's identifier(s); a token's `aud` must name one. */
  audience: string | readonly string[];
  /**
   * Client credentials for RFC 7662 introspection of opaque tokens (`client_secret_basic`). Without them only JWT
   * access tokens are accepted.
   */
  introspection?: { clientId: string; clientSecret: string };
  /** JWT access token keys; default the issuer's `jwks_uri` from discovery (fetched once, refetched on a new `kid`). */
  keys?: JSONWebKeySet | JWTVerifyGetKey;
  /** Allowed JWT algorithms; default `['RS256', 'PS256', 'ES256']`. Only asymmetric ones are accepted. */
  algorithms?: readonly string[];
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds; default 30. */
  clockToleranceSeconds?: number;
  /**
   * The JWT `typ` header a token must carry; default `'at+jwt'` (RFC 9068 §4, `application/at+jwt` is the same).
   * `false` accepts any `typ`, for providers that sign access tokens as plain `JWT` (Entra ID v2, for one) — and
   * so also accepts an ID token for the same audience, which is why it is not the default.
   */
  typ?: string | false;
  /**
   * Least time between two JWKS fetches caused by an unknown `kid`, in seconds; default 30. Bounds how often a
   * stream of forged `kid`s can make us call the OP. Ignored when `keys` is given.
   */
  jwksCooldownSeconds?: number;
  /** `fetch` for discovery, JWKS and introspection; default the global one. */
  fetch?: typeof fetch;
  /** Scopes every token must hold (space-separated `scope` claim). */
  requiredScopes?: readonly string[];
  /** Allows an `http:` issuer — for a loopback OP in tests only. */
  allowInsecureRequests?: boolean;
  /** Clock in ms, for tests. */
  now?: () => number;
}

/** Who a verified bearer token speaks for. */
export interface BearerPrincipal {
  /** `sub`, or the `client_id` of a client-credentials token without one. */
  subject: string;
  clientId: string | undefined;
  scopes: readonly string[];
  /** How the token was checked. */
  via: 'jwt' | 'introspection';
  /** Every claim (JWT payload or introspection response). */
  claims: Readonly<Record<string, unknown>>;
}

/** Verifies the bearer token of a request; see {@link createBearerVerifier}. */
export type VerifyBearer = (request: Request) => Promise<BearerPrincipal>;

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;

/**
 * Creates `verifyBearer(request)` for our APIs: reads `Authorization: Bearer` (RFC 6750 §2.1), verifies a JWT access
 * token (three dot-separated parts) against the issuer's keys with issuer, audience, expiry, clock skew and an
 * algorithm allow-list, or introspects any other token at the issuer (RFC 7662) when `introspection` credentials are
 * given. Discovery runs on first use and is retried after a failure.
 *
 * @throws {IdrelayError} `ERR_OIDC_TOKEN_MISSING` (no bearer token), `ERR_OIDC_TOKEN_INVALID` (expired, inactive,
 * wrong issuer or audience, bad signature, missing scope), `ERR_OIDC_UNAVAILABLE` (discovery or introspection
 * failed: retryable).
 * @see https://www.rfc-editor.org/rfc/rfc9068 (JWT access tokens), https://www.rfc-editor.org/rfc/rfc7662
 * @example
 * ```ts
 * const verifyBearer = createBearerVerifier({ issuer: 'https://idp.example.com', audience: 'https://api.example.com' });
 * const principal = await verifyBearer(request); // throws IdrelayError ERR_OIDC_TOKEN_INVALID → 401
 * ```
 */
export function createBearerVerifier(options: BearerVerifierOptions): VerifyBearer {
  const algorithms = [...(options.algorithms ?? ['RS256', 'PS256', 'ES256'])];
  if (algorithms.length === 0 || algorithms.some((alg) => !ASYMMETRIC.test(alg))) {
    throw new TypeError(`algorithms must be asymmetric JWS algorithms, got ${algorithms.join(', ')}`);
  }
  const issuer = new URL(options.issuer);
  const audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
  if (audience.length === 0) throw new TypeError('audience must name at least one API');
  const now = options.now ?? Date.now;
  const tolerance = options.clockToleranceSeconds ?? 30;
  const typ = options.typ === undefined ? 'at+jwt' : options.typ || undefined;
  const localKeys =
    options.keys === undefined
      ? undefined
      : typeof options.keys === 'function'
        ? options.keys
        : createLocalJWKSet(options.keys);

  let setup: Promise<Discovered> | undefined;
  const discover = () => {
    setup ??= discoverIssuer(issuer, options, localKeys).catch((error: unknown) => {
      setup = undefined;
      throw error;
    });
    return setup;
  };

  return async (request) => {
    const token = readBearer(request);
    const { config, issuer: expectedIssuer, getKey } = await discover();
    if (isJwt(token)) {
      const check = { issuer: expectedIssuer, audience, algorithms, tolerance, typ, now };
      return principal(await verifyJwt(token, getKey, check), 'jwt', options.requiredScopes ?? []);
    }
    const claims = await introspect(token, config, options, audience, now() / 1000);
    return principal(claims, 'introspection', options.requiredScopes ?? []);
  };
}

/** What discovery settles once: the configuration, the issuer string to compare (read once: `serverMetadata()`
 * deep-copies the metadata on every call), and the keys. */
interface Discovered {
  config: client.Configuration;
  issuer: string;
  getKey: JWTVerifyGetKey;
}

async function discoverIssuer(
  issuer: URL,
  options: BearerVerifierOptions,
  localKeys: JWTVerifyGetKey | undefined,
): Promise<Discovered> {
  let config: client.Configuration;
  try {
    const auth = options.introspection;
    config = await client.discovery(
      issuer,
      auth?.clientId ?? 'idrelay-resource-server',
      auth?.clientSecret,
      undefined,
      {
        ...(options.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
        ...(options.fetch ? { [client.customFetch]: options.fetch } : {}),
      },
    );
  } catch (error) {
    throw new IdrelayError('ERR_OIDC_UNAVAILABLE', `OpenID discovery of ${issuer.href} failed`, { cause: error });
  }
  const metadata = config.serverMetadata();
  if (localKeys) return { config, issuer: metadata.issuer, getKey: localKeys };
  const jwksUri = metadata.jwks_uri;
  if (jwksUri === undefined) {
    throw new IdrelayError('ERR_OIDC_UNAVAILABLE', `${issuer.href} publishes no jwks_uri`);
  }
  // jose imports each key once and keeps it; an unknown `kid` refetches at most once per cooldown.
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: (options.jwksCooldownSeconds ?? 30) * 1000,
    ...(options.fetch ? { [customFetch]: options.fetch } : {}),
  });
  return { config, issuer: metadata.issuer, getKey: remote };
}

function readBearer(request: Request): string {
  const header = request.headers.get('authorization');
  const match = header === null ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match) {
    throw new IdrelayError('ERR_OIDC_TOKEN_MISSING', 'The request carries no `Authorization: Bearer` token');
  }
  return match[1] as string;
}

// Three dot-separated parts; counted without allocating, as this runs on every request.
function isJwt(token: string): boolean {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  return second > 0 && token.indexOf('.', second + 1) < 0;
}

async function verifyJwt(
  token: string,
  getKey: JWTVerifyGetKey,
  check: {
    issuer: string;
    audience: string[];
    algorithms: string[];
    tolerance: number;
    typ: string | undefined;
    now: () => number;
  },
): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, getKey, {
      issuer: check.issuer,
      audience: check.audience,
      algorithms: check.algorithms,
      clockTolerance: check.tolerance,
      currentDate: new Date(check.now()),
      // RFC 9068 §2.2 makes `iat` and `sub` required beside `exp`.
      requiredClaims: ['exp', 'iat', 'sub'],
      ...(check.typ ? { typ: check.typ } : {}),
    });
    return payload;
  } catch (error) {
    if (error instanceof joseErrors.JWKSTimeout || isFetchFailure(error)) {
      throw new IdrelayError('ERR_OIDC_UNAVAILABLE', 'The issuer keys could not be fetched', { cause: error });
    }
    const reason = error instanceof joseErrors.JOSEError ? error.code : 'ERR_JOSE_GENERIC';
    // JWTClaimValidationFailed and JWTExpired both name the claim.
    const claim =
      error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired
        ? error.claim
        : undefined;
    throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', `The access token was refused: ${(error as Error).message}`, {
      cause: error,
      details: claim === undefined ? { reason } : { reason, claim },
    });
  }
}

// jose surfaces a JWKS endpoint that is down as the fetch's own TypeError, or as a JOSEError for a non-200 answer.
function isFetchFailure(error: unknown): boolean {
  return (
    error instanceof TypeError ||
    (error instanceof joseErrors.JOSEError && /Expected 200 OK from the JSON Web Key Set/.test(error.message))
  );
}

async function introspect(
  token: string,
  config: client.Configuration,
  options: BearerVerifierOptions,
  audience: string[],
  nowSeconds: number,
): Promise<Record<string, unknown>> {
  if (options.introspection === undefined) {
    throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'Opaque tokens are not accepted (no introspection configured)');
  }
  let result: Record<string, unknown>;
  try {
    result = (await client.tokenIntrospection(config, token)) as Record<string, unknown>;
  } catch (error) {
    throw new IdrelayError('ERR_OIDC_UNAVAILABLE', 'Token introspection failed', { cause: error });
  }
  if (result.active !== true) throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'The access token is not active');
  if (typeof result.exp === 'number' && result.exp + (options.clockToleranceSeconds ?? 30) < nowSeconds) {
    throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'The access token has expired');
  }
  // RFC 7662 makes `aud` optional; when the server names audiences, ours must be among them.
  const aud = result.aud;
  if (aud !== undefined) {
    const named = Array.isArray(aud) ? aud : [aud];
    if (!named.some((value) => audience.includes(value as string))) {
      throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'The access token is for another audience');
    }
  }
  return result;
}

function principal(
  claims: Record<string, unknown>,
  via: BearerPrincipal['via'],
  required: readonly string[],
): BearerPrincipal {
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
  const missing = required.filter((scope) => !scopes.includes(scope));
  if (missing.length > 0) {
    throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', `The access token lacks scope ${missing.join(', ')}`, {
      details: { missing },
    });
  }
  const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
  const subject = typeof claims.sub === 'string' ? claims.sub : clientId;
  if (subject === undefined) throw new IdrelayError('ERR_OIDC_TOKEN_INVALID', 'The access token names no subject');
  return { subject, clientId, scopes, via, claims };
}
