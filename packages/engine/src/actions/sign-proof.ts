import { type KeyObject, randomBytes, type webcrypto } from 'node:crypto';
import { CompactSign } from 'jose';
import { PROOF_TYPE, type ProofClaims } from './proof.js';
import { accessTokenHash } from './token-hash.js';

/** What {@link signProof} needs: the device's private key and what the proof binds. */
export interface SignProofInput {
  /** The device's private key: a `CryptoKey` (WebCrypto, non-extractable is fine) or a Node `KeyObject`. */
  privateKey: webcrypto.CryptoKey | KeyObject;
  algorithm: 'ES256' | 'Ed25519';
  /** The enrolled device id (the header's `kid`). */
  deviceId: string;
  /** The action token from the push (`tok`). */
  token: string;
  /** `POST` + the respond URL for a response; `GET` + the details URL for a details request. */
  method: 'POST' | 'GET';
  url: string;
  decision?: string;
  code?: string;
  comment?: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  /** Default 16 random bytes, base64url. */
  jti?: string;
}

/**
 * Signs a response or details proof the way an app does it (docs/protocol.md §4): a compact JWS with header
 * `{ typ: 'idrelay-response+jwt', alg, kid: deviceId }` over the claims `jti`, `iat`, `htm`, `htu`, `ath` and, for a
 * response, `decision`, `code`, `comment`. For tests, examples, the protocol vectors and Node-based apps; iOS and
 * Android sign the same bytes with CryptoKit and the Keystore.
 *
 * @example
 * ```ts
 * const proof = await signProof({ privateKey, algorithm: 'ES256', deviceId: 'pixel-8', token: tok, method: 'POST', url: respondUrl, decision: 'approve', code: '042917' });
 * await relay.respond({ token: tok, proof });
 * ```
 */
export async function signProof(input: SignProofInput): Promise<string> {
  const claims: ProofClaims = {
    jti: input.jti ?? randomBytes(16).toString('base64url'),
    iat: input.iat ?? Math.floor(Date.now() / 1000),
    htm: input.method,
    htu: input.url,
    ath: accessTokenHash(input.token),
    ...(input.decision !== undefined ? { decision: input.decision } : {}),
    ...(input.code !== undefined ? { code: input.code } : {}),
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
  };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ typ: PROOF_TYPE, alg: input.algorithm === 'ES256' ? 'ES256' : 'EdDSA', kid: input.deviceId })
    .sign(input.privateKey);
}
