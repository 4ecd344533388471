import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { IdrelayError } from '@idrelay/core';

/** The signature algorithms a device key may use: ECDSA P-256 with SHA-256 (RFC 7518 §3.4) or Ed25519 (RFC 8037). */
export type DeviceKeyAlgorithm = 'ES256' | 'Ed25519';

/** A public key as a device sends it: a public JWK (RFC 7517), or SPKI DER in base64url. */
export type DevicePublicKey = JsonWebKey | string;

/** A validated device key: what the store keeps (SPKI DER, base64url) and the key object that verifies. */
export interface ParsedDeviceKey {
  spki: string;
  algorithm: DeviceKeyAlgorithm;
  key: KeyObject;
}

function refuse(message: string, cause?: unknown): IdrelayError<'ERR_ENROL_KEY_INVALID'> {
  return new IdrelayError('ERR_ENROL_KEY_INVALID', message, cause === undefined ? {} : { cause });
}

/**
 * Imports and checks a device's public key: a P-256 key for `ES256` (the point must lie on the curve: OpenSSL
 * refuses one that does not while decoding), an Ed25519 key for `Ed25519`; never a private key.
 *
 * @throws {IdrelayError} `ERR_ENROL_KEY_INVALID` for anything else.
 * @example
 * ```ts
 * const { spki } = parseDeviceKey({ kty: 'EC', crv: 'P-256', x: '…', y: '…' }, 'ES256');
 * ```
 */
export function parseDeviceKey(input: DevicePublicKey, algorithm: DeviceKeyAlgorithm): ParsedDeviceKey {
  if (algorithm !== 'ES256' && algorithm !== 'Ed25519') {
    throw refuse(`Unsupported algorithm "${String(algorithm)}"; expected ES256 or Ed25519`);
  }
  let key: KeyObject;
  try {
    if (typeof input === 'string') {
      if (!/^[A-Za-z0-9_-]{40,800}$/.test(input)) throw refuse('An SPKI key must be 40-800 base64url characters');
      key = createPublicKey({ key: Buffer.from(input, 'base64url'), format: 'der', type: 'spki' });
    } else if (typeof input === 'object' && input !== null) {
      if ('d' in input) throw refuse('The key holds a private part ("d"); send the public key only');
      key = createPublicKey({ key: input, format: 'jwk' });
    } else {
      throw refuse('A public key must be a JWK object or an SPKI base64url string');
    }
  } catch (error) {
    if (error instanceof IdrelayError) throw error;
    throw refuse('The public key could not be imported (malformed, or a point not on the curve)', error);
  }
  if (key.type !== 'public') throw refuse('Expected a public key');
  if (algorithm === 'ES256') {
    const details = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw refuse('An ES256 key must be an EC key on P-256');
    }
  } else if (key.asymmetricKeyType !== 'ed25519') {
    throw refuse('An Ed25519 key must be an OKP key on Ed25519');
  }
  const spki = key.export({ format: 'der', type: 'spki' }).toString('base64url');
  return { spki, algorithm, key };
}

/**
 * Key objects of enrolled devices, by their stored SPKI: importing a key costs more than verifying with it, so each
 * is imported once. Bounded; the oldest entry goes first.
 */
export function createKeyCache(limit = 10_000): (spki: string) => KeyObject {
  const cache = new Map<string, KeyObject>();
  return (spki) => {
    let key = cache.get(spki);
    if (key === undefined) {
      key = createPublicKey({ key: Buffer.from(spki, 'base64url'), format: 'der', type: 'spki' });
      if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
      cache.set(spki, key);
    }
    return key;
  };
}
