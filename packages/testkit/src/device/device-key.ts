import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
} from 'node:crypto';

/** The signature algorithms a device may enrol (docs/protocol.md §2): P-256 (`ES256`) or Ed25519. */
export type DeviceAlgorithm = 'ES256' | 'Ed25519';

/** A device's signing key: made on the device, the private half never leaves it. */
export interface DeviceKey {
  readonly algorithm: DeviceAlgorithm;
  /** The public key as a JWK (RFC 7517), what the enrolment sends. */
  readonly publicJwk: JsonWebKey;
  /** Signs `input` as JWS wants it: ES256 as the 64-byte `r || s` (RFC 7518 §3.4), Ed25519 as is (RFC 8037). */
  sign(input: Uint8Array): Buffer;
  /** The private key as a JWK, to keep a simulated device across processes (`idrelay device …`). */
  exportPrivateJwk(): JsonWebKey;
}

/**
 * Makes a fresh key pair for a device (node:crypto), or restores one from its private JWK.
 *
 * @example
 * ```ts
 * const key = createDeviceKey('Ed25519');
 * const again = createDeviceKey('Ed25519', key.exportPrivateJwk());
 * ```
 */
export function createDeviceKey(algorithm: DeviceAlgorithm, privateJwk?: JsonWebKey): DeviceKey {
  if (algorithm !== 'ES256' && algorithm !== 'Ed25519') {
    throw new TypeError(`algorithm must be ES256 or Ed25519, got ${String(algorithm)}`);
  }
  let privateKey: KeyObject;
  if (privateJwk === undefined) {
    privateKey =
      algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
        : generateKeyPairSync('ed25519').privateKey;
  } else {
    privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
    const type = privateKey.asymmetricKeyType;
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    if (algorithm === 'ES256' ? type !== 'ec' || curve !== 'prime256v1' : type !== 'ed25519') {
      throw new TypeError(`the stored private key is not a ${algorithm === 'ES256' ? 'P-256' : 'Ed25519'} key`);
    }
  }
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return {
    algorithm,
    publicJwk,
    sign: (input) =>
      algorithm === 'ES256'
        ? sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, input, privateKey),
    exportPrivateJwk: () => privateKey.export({ format: 'jwk' }),
  };
}
