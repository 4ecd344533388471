import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The SHA-256 digest (hex) of a static bearer token, the form {@link ScimHandlerOptions.tokens} keeps at rest, so a
 * leaked configuration does not leak a usable token.
 *
 * @example
 * ```ts
 * const tokens = [hashScimToken(process.env.SCIM_TOKEN!)];
 * ```
 */
export function hashScimToken(token: string): string {
  if (typeof token !== 'string' || token.length === 0) throw new TypeError('expected a non-empty token string');
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or `undefined`. */
export function bearerToken(authorization: string | null): string | undefined {
  const match = authorization === null ? null : /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(authorization);
  return match?.[1];
}

/** Checks a bearer token against hashed tokens, each owned by a tenant; answers the owner or `undefined`. */
export function createBearerCheck<Owner>(
  entries: readonly { digest: string; owner: Owner; where: string }[],
): (token: string) => Owner | undefined {
  const keys = entries.map(({ digest, owner, where }) => {
    if (typeof digest !== 'string' || !HEX_SHA256.test(digest)) {
      throw new TypeError(`expected ${where} to be a lower-case SHA-256 hex digest (see hashScimToken)`);
    }
    return { key: Buffer.from(digest, 'hex'), owner };
  });
  return (token) => {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: Owner | undefined;
    // Compare against every digest so the time taken does not say which one matched.
    for (const { key, owner } of keys) if (timingSafeEqual(presented, key)) found = owner;
    return found;
  };
}
