import { createHash, randomBytes } from 'node:crypto';

/** Bytes of randomness in an action token or enrolment code: 256 bits, twice the 128 the protocol requires. */
export const TOKEN_BYTES = 32;

/**
 * A fresh secret for a push or an enrolment link: {@link TOKEN_BYTES} random bytes, base64url (43 characters). It
 * never starts with `-` (drawn again, about 1 time in 64: 255.98 bits remain), so it can be passed as a command-line
 * argument (`idrelay device enrol --code …`) without being read as an option.
 *
 * @example
 * ```ts
 * const token = newSecret(); // 'q8N4…' — only tokenHash(token) is stored
 * ```
 */
export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(TOKEN_BYTES).toString('base64url');
    if (secret[0] !== '-') return secret;
  }
}

/** What the store keeps of a token or code: SHA-256, hex. The secret itself is never stored. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The proof's `ath` claim for `token`: base64url of its SHA-256, exactly as RFC 9449 §4.2 binds an access token to
 * a DPoP proof.
 */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'ascii').digest('base64url');
}

/**
 * What a flow keeps of a number-matching code: SHA-256 over the flow id and the code, hex, so equal codes of two
 * requests never share a hash.
 */
export function codeHash(flowId: string, code: string): string {
  return createHash('sha256').update(`${flowId}\u0000${code}`, 'utf8').digest('hex');
}
