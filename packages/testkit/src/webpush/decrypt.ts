import { createDecipheriv, createHmac, type ECDH } from 'node:crypto';

/** Why a body could not be decrypted; the service answers 400 with it. */
export class DecryptError extends Error {
  override readonly name = 'DecryptError';
}

const hmac = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('sha256', key);
  for (const d of data) h.update(d);
  return h.digest();
};

const ONE = Buffer.from([1]);
const KEY_INFO = Buffer.from('WebPush: info\0');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0');

/**
 * Decrypts an RFC 8291 `aes128gcm` message body as a user agent does, with the subscriber's ECDH key (`ecdh`,
 * holding the private key behind `p256dh`) and its 16-byte auth secret. Accepts one record only — what RFC 8291 §4
 * allows for push messages — and returns the plaintext with padding and the 0x02 delimiter removed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8291#section-3.4 (key derivation) and RFC 8188 §2 (header and records).
 * @example
 * ```ts
 * const plaintext = decryptWebPushBody(body, subscriberEcdh, authSecret);
 * ```
 */
export function decryptWebPushBody(body: Buffer, ecdh: ECDH, authSecret: Buffer): Buffer {
  // RFC 8188 §2.1 header: salt(16) ‖ rs(uint32) ‖ idlen(1) ‖ keyid(idlen)
  if (body.length < 21) throw new DecryptError('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  if (idlen !== 65) throw new DecryptError(`keyid must be the 65-byte sender public key (RFC 8291 §4), got ${idlen}`);
  const headerLength = 21 + idlen;
  const senderPublic = body.subarray(21, headerLength);
  const record = body.subarray(headerLength);
  if (rs < 18) throw new DecryptError(`record size ${rs} is below the minimum of 18`);
  if (record.length > rs) throw new DecryptError('more than one record (RFC 8291 §4 allows one)');
  if (record.length < 17) throw new DecryptError('record shorter than the 16-byte tag plus a delimiter');

  let ecdhSecret: Buffer;
  try {
    ecdhSecret = ecdh.computeSecret(senderPublic);
  } catch (cause) {
    throw new DecryptError(`sender key is not a P-256 point: ${(cause as Error).message}`);
  }
  // RFC 8291 §3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" ‖ 0 ‖ ua_public ‖ as_public, 32)
  const prkKey = hmac(authSecret, ecdhSecret);
  const ikm = hmac(prkKey, KEY_INFO, ecdh.getPublicKey(), senderPublic, ONE);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, CEK_INFO, ONE).subarray(0, 16);
  const nonce = hmac(prk, NONCE_INFO, ONE).subarray(0, 12);

  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    throw new DecryptError('authentication tag mismatch (wrong keys or a corrupted body)');
  }
  // RFC 8188 §2: the last record ends with 0x02 followed by any number of zero padding octets.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 2) throw new DecryptError('missing the 0x02 last-record delimiter');
  return padded.subarray(0, end);
}
