import { createECDH, createPrivateKey, type KeyObject } from 'node:crypto';
import { IdrelayError } from '@idrelay/core';

/** VAPID credentials of an application server (RFC 8292 §2–3), as `web-push generate-vapid-keys` prints them. */
export interface VapidKeys {
  /** base64url, 65-byte uncompressed P-256 point: the `applicationServerKey` browsers subscribe with. */
  publicKey: string;
  /** base64url, 32-byte P-256 private scalar. Keep it secret. */
  privateKey: string;
  /** Contact for the push service operator: a `mailto:` or `https:` URI (RFC 8292 §2.1). */
  subject: string;
}

/** VAPID keys checked and ready to sign with. */
export interface ParsedVapidKeys {
  publicKey: string;
  subject: string;
  signingKey: KeyObject;
}

/**
 * Generates a new VAPID key pair. Run it once, store the private key as a secret, and give the public key to
 * browsers as `applicationServerKey` in `pushManager.subscribe()`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8292#section-3.2
 * @example
 * ```ts
 * const { publicKey, privateKey } = generateVapidKeys();
 * ```
 */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes (1 key in 256): the scalar is always written as 32 bytes.
  return {
    publicKey: ecdh.getPublicKey('base64url'),
    privateKey: leftPad32(ecdh.getPrivateKey()).toString('base64url'),
  };
}

/** A P-256 scalar as exactly 32 bytes, left-padded with zeros (as RFC 8292 §3.2 and SEC 1 write it). */
function leftPad32(scalar: Buffer): Buffer {
  return scalar.length >= 32 ? scalar : Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]);
}

/**
 * Validates VAPID keys and subject, throwing `ERR_WEBPUSH_VAPID_INVALID` with the reason when they are unusable:
 * a public key that is not 65 bytes, a private key that is not 32, keys that are not a pair, or a subject that is
 * neither `mailto:` nor `https:`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8292#section-2.1 and §3.2
 * @example
 * ```ts
 * const parsed = parseVapidKeys({ publicKey, privateKey, subject: 'mailto:ops@example.com' });
 * ```
 */
export function parseVapidKeys(keys: VapidKeys): ParsedVapidKeys {
  const fail = (reason: string): never => {
    throw new IdrelayError('ERR_WEBPUSH_VAPID_INVALID', `VAPID ${reason}`);
  };
  if (!keys || typeof keys.publicKey !== 'string' || typeof keys.privateKey !== 'string') {
    return fail('keys need publicKey and privateKey (base64url)');
  }
  if (typeof keys.subject !== 'string' || !/^(mailto:\S+|https:\/\/\S+)$/.test(keys.subject)) {
    return fail('subject must be a mailto: or https: URI (RFC 8292 §2.1)');
  }
  const pub = Buffer.from(keys.publicKey, 'base64url');
  // A scalar written without its leading zero bytes (some generators did, and ours 1 time in 256) is padded, not refused.
  const raw = Buffer.from(keys.privateKey, 'base64url');
  const priv = raw.length > 0 && raw.length < 32 ? leftPad32(raw) : raw;
  if (pub.length !== 65 || pub[0] !== 4) return fail('publicKey is not a 65-byte uncompressed P-256 point');
  if (priv.length !== 32) return fail('privateKey is not a 32-byte P-256 scalar');
  const check = createECDH('prime256v1');
  try {
    check.setPrivateKey(priv);
  } catch (cause) {
    throw new IdrelayError('ERR_WEBPUSH_VAPID_INVALID', 'VAPID privateKey is not a valid P-256 scalar', { cause });
  }
  if (!check.getPublicKey().equals(pub)) return fail('publicKey does not belong to privateKey');
  const signingKey = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
      d: priv.toString('base64url'),
    },
    format: 'jwk',
  });
  return { publicKey: keys.publicKey, subject: keys.subject, signingKey };
}
