import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** Why a provider token was refused, as APNs names it (all 403). */
export type ProviderTokenProblem = 'MissingProviderToken' | 'InvalidProviderToken' | 'ExpiredProviderToken';

/** Options of {@link createProviderTokenVerifier}. */
export interface ProviderTokenVerifierOptions {
  /** The public half of the `.p8` key (PEM, or the private key itself, from which the public key is derived). */
  publicKey: string | Buffer | KeyObject;
  teamId: string;
  keyId: string;
  /** Age past which `iat` is too old; APNs uses one hour. */
  maxAgeMs: number;
}

/** Checks `authorization: bearer <jwt>` the way APNs does. */
export interface ProviderTokenVerifier {
  /** `undefined` when the token is good at `now`, otherwise the APNs reason. */
  check(authorization: string | undefined, now: number): ProviderTokenProblem | undefined;
  /** The `iat` of a token that passed {@link check}, in ms; `undefined` for one that did not. */
  issuedAt(authorization: string): number | undefined;
}

/**
 * Verifies APNs provider tokens: ES256 over `header.claims` with the configured key, header `alg` ES256 and `kid`
 * = key id, claim `iss` = team id, and `iat` no older than `maxAgeMs` (nor more than a minute in the future).
 * A signature is checked once per distinct token and remembered, as a real server would, so a benchmark measures
 * the sender rather than ECDSA in the stand-in.
 *
 * @see https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
 * @example
 * ```ts
 * const verifier = createProviderTokenVerifier({ publicKey, teamId: 'DEF123GHIJ', keyId: 'ABC123DEFG', maxAgeMs: 3_600_000 });
 * verifier.check(req.headers.authorization, Date.now()); // → undefined | 'InvalidProviderToken' | …
 * ```
 */
export function createProviderTokenVerifier(options: ProviderTokenVerifierOptions): ProviderTokenVerifier {
  const key =
    typeof options.publicKey === 'string' || Buffer.isBuffer(options.publicKey)
      ? createPublicKey(options.publicKey)
      : options.publicKey.type === 'private'
        ? createPublicKey(options.publicKey)
        : options.publicKey;
  // token → iat in ms, or null when it failed verification.
  const seen = new Map<string, number | null>();

  const parse = (token: string): number | null => {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const [h, c, s] = parts as [string, string, string];
    try {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: unknown; kid?: unknown };
      const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as { iss?: unknown; iat?: unknown };
      if (header.alg !== 'ES256' || header.kid !== options.keyId) return null;
      if (claims.iss !== options.teamId || typeof claims.iat !== 'number') return null;
      const signature = Buffer.from(s, 'base64url');
      if (signature.length !== 64) return null;
      const ok = verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, signature);
      return ok ? claims.iat * 1000 : null;
    } catch {
      return null;
    }
  };

  const tokenOf = (authorization: string) => /^bearer (.+)$/i.exec(authorization)?.[1];

  return {
    issuedAt(authorization) {
      const token = tokenOf(authorization);
      return (token === undefined ? undefined : seen.get(token)) ?? undefined;
    },
    check(authorization, now) {
      if (authorization === undefined || authorization === '') return 'MissingProviderToken';
      const token = tokenOf(authorization);
      if (token === undefined) return 'InvalidProviderToken';
      let iat = seen.get(token);
      if (iat === undefined) {
        iat = parse(token);
        if (seen.size > 10_000) seen.clear();
        seen.set(token, iat);
      }
      if (iat === null) return 'InvalidProviderToken';
      if (iat > now + 60_000) return 'InvalidProviderToken';
      if (now - iat > options.maxAgeMs) return 'ExpiredProviderToken';
      return undefined;
    },
  };
}
