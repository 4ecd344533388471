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

/** Checks `Authorization: Bearer <token>` (RFC 6750 §2.1) against hashed tokens in constant time per digest. */
export function createBearerCheck(digests: readonly string[]): (authorization: string | null) => boolean {
  if (!Array.isArray(digests) || digests.length === 0) {
    throw new TypeError('expected tokens: a non-empty array of SHA-256 hex digests (see hashScimToken)');
  }
  const keys = digests.map((digest, index) => {
    if (typeof digest !== 'string' || !HEX_SHA256.test(digest)) {
      throw new TypeError(`expected tokens[${index}] to be a lower-case SHA-256 hex digest (see hashScimToken)`);
    }
    return Buffer.from(digest, 'hex');
  });
  return (authorization) => {
    const match = authorization === null ? null : /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(authorization);
    if (match?.[1] === undefined) return false;
    const presented = createHash('sha256').update(match[1], 'utf8').digest();
    let ok = false;
    // Compare against every digest so the time taken does not say which one matched.
    for (const key of keys) ok = timingSafeEqual(presented, key) || ok;
    return ok;
  };
}
