import { createHash } from 'node:crypto';

/** Options of {@link fitIdentifier}. */
export interface FitIdentifierOptions {
  /** The provider's limit in UTF-8 bytes (APNs `apns-collapse-id`: 64). */
  maxBytes: number;
  /**
   * Characters the provider accepts; a value with any other is hashed. Web Push `Topic` (RFC 8030 §5.4) allows
   * only the URL- and filename-safe base64 alphabet.
   */
  allowed?: RegExp;
}

/** True when `value` holds a C0 control character or DEL, which no push provider header accepts. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Makes an identifier fit a push provider's limits: returned as it is when it fits, otherwise replaced by a
 * base64url SHA-256 of it, cut to the limit. The replacement is deterministic, so two pushes with the same long
 * collapse id still replace each other on the device; control characters (a NUL above all) never reach a header.
 *
 * @see https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns (apns-collapse-id)
 * @see https://www.rfc-editor.org/rfc/rfc8030#section-5.4 (Topic)
 * @example
 * ```ts
 * fitIdentifier('verification-v-1', { maxBytes: 64 }); // 'verification-v-1'
 * fitIdentifier(`verification-${'f'.repeat(64)}`, { maxBytes: 64 }); // 43 base64url characters
 * fitIdentifier('a:b', { maxBytes: 32, allowed: /^[A-Za-z0-9_-]+$/ }); // hashed: ':' is outside the alphabet
 * ```
 */
export function fitIdentifier(value: string, options: FitIdentifierOptions): string {
  const fits =
    value.length > 0 &&
    !hasControl(value) &&
    Buffer.byteLength(value, 'utf8') <= options.maxBytes &&
    (options.allowed === undefined || options.allowed.test(value));
  if (fits) return value;
  return createHash('sha256').update(value).digest('base64url').slice(0, Math.max(1, options.maxBytes));
}
