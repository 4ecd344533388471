import { createCipheriv, createECDH, createHmac, type ECDH, randomBytes } from 'node:crypto';

/** The parts of an RFC 8291 message a test needs to fix (RFC 8291 Appendix A); production code passes none. */
export interface EncryptOverrides {
  /** 16-byte salt; default random per message. */
  salt?: Buffer;
  /** The sender's ephemeral ECDH key; default a fresh P-256 key per message (RFC 8291 §3.1). */
  ecdh?: ECDH;
}

/** A subscription's keys decoded once: the user agent's P-256 public key and its auth secret. */
export interface SubscriberKeys {
  /** 65-byte uncompressed P-256 point (`p256dh`). */
  p256dh: Buffer;
  /** 16-byte authentication secret (`auth`). */
  auth: Buffer;
}

const ONE = Buffer.from([1]);
const KEY_INFO = Buffer.from('WebPush: info\0');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0');
const DELIMITER = Buffer.from([2]);
/** RFC 8188 record size written into the header; one record carries the whole message. */
const RECORD_SIZE = 4096;

const hmac = (key: Buffer, a: Buffer, b?: Buffer, c?: Buffer, d?: Buffer): Buffer => {
  const h = createHmac('sha256', key).update(a);
  if (b) h.update(b);
  if (c) h.update(c);
  if (d) h.update(d);
  return h.digest();
};

/**
 * Encrypts `plaintext` for one subscription with RFC 8291 `aes128gcm`: ECDH between a fresh ephemeral key and the
 * user agent's `p256dh`, HKDF-SHA-256 keyed by the auth secret, then one RFC 8188 record (AES-128-GCM, 0x02
 * delimiter, no padding). The HKDF steps are written as their HMACs (RFC 5869 §2) — each `info` is shorter than
 * one hash, so extract + one expand block is the whole KDF. Returns the request body: header ‖ ciphertext.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8291#section-3.4 and RFC 8188 §2
 * @example
 * ```ts
 * const body = encryptWebPushPayload(Buffer.from('{"title":"Hi"}'), {
 *   p256dh: Buffer.from(subscription.keys.p256dh, 'base64url'),
 *   auth: Buffer.from(subscription.keys.auth, 'base64url'),
 * });
 * ```
 */
export function encryptWebPushPayload(
  plaintext: Buffer,
  keys: SubscriberKeys,
  overrides: EncryptOverrides = {},
): Buffer {
  const ecdh = overrides.ecdh ?? createECDH('prime256v1');
  if (!overrides.ecdh) ecdh.generateKeys();
  const salt = overrides.salt ?? randomBytes(16);
  const senderPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(keys.p256dh);

  // RFC 8291 §3.3–3.4: IKM = HKDF(salt=auth_secret, ikm=ecdh_secret, info="WebPush: info"‖0x00‖ua_public‖as_public)
  const ikm = hmac(hmac(keys.auth, ecdhSecret), KEY_INFO, keys.p256dh, senderPublic, ONE);
  // RFC 8188 §2.2–2.3: CEK and NONCE from HKDF(salt, IKM)
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, CEK_INFO, ONE).subarray(0, 16);
  const nonce = hmac(prk, NONCE_INFO, ONE).subarray(0, 12);

  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  const head = Buffer.allocUnsafe(86);
  salt.copy(head, 0);
  head.writeUInt32BE(RECORD_SIZE, 16);
  head[20] = 65;
  senderPublic.copy(head, 21);
  const first = cipher.update(plaintext);
  const last = cipher.update(DELIMITER);
  cipher.final();
  return Buffer.concat([head, first, last, cipher.getAuthTag()]);
}

/**
 * Decodes and checks a subscription's keys (`p256dh` a 65-byte uncompressed P-256 point, `auth` 16 bytes), or
 * returns the reason they are unusable.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8291#section-2 (key and secret sizes)
 * @example
 * ```ts
 * const keys = decodeSubscriberKeys(subscription.keys);
 * if (typeof keys === 'string') throw new Error(keys);
 * ```
 */
export function decodeSubscriberKeys(keys: { p256dh: string; auth: string }): SubscriberKeys | string {
  if (typeof keys?.p256dh !== 'string' || typeof keys.auth !== 'string')
    return 'keys.p256dh and keys.auth are required';
  const p256dh = Buffer.from(keys.p256dh, 'base64url');
  const auth = Buffer.from(keys.auth, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 4) return 'keys.p256dh is not a 65-byte uncompressed P-256 point';
  if (auth.length !== 16) return 'keys.auth is not 16 bytes';
  return { p256dh, auth };
}
