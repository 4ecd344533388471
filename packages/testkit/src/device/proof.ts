import { createHash, randomBytes } from 'node:crypto';
import type { DeviceKey } from './device-key.js';

/** What a proof binds (docs/protocol.md §4.2). */
export interface ProofInput {
  deviceId: string;
  /** The action token from the push (`tok`). */
  token: string;
  method: 'GET' | 'POST';
  /** The details or respond URL, exactly as the relay is configured with it. */
  url: string;
  /** Seconds since the epoch. */
  iat: number;
  decision?: string;
  code?: string;
  comment?: string;
  /** Default 16 random bytes, base64url; fixed only to reproduce test vectors. */
  jti?: string;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Signs a response or details proof as an app does (docs/protocol.md §4): a compact JWS (RFC 7515 §7.1) with the
 * protected header `{ typ: 'idrelay-response+jwt', alg, kid }` over `jti`, `iat`, `htm`, `htu`, `ath` (RFC 9449
 * §4.2: base64url SHA-256 of the token) and, for a response, `decision`, `code` and `comment`. Written from the
 * protocol alone, without the engine's `signProof`, so the simulator checks the relay against the document.
 *
 * @example
 * ```ts
 * const proof = signDeviceProof(key, { deviceId: 'pixel', token: tok, method: 'GET', url: detailsUrl, iat: now });
 * ```
 */
export function signDeviceProof(key: DeviceKey, input: ProofInput): string {
  const header = {
    typ: 'idrelay-response+jwt',
    alg: key.algorithm === 'ES256' ? 'ES256' : 'EdDSA',
    kid: input.deviceId,
  };
  const claims: Record<string, unknown> = {
    jti: input.jti ?? randomBytes(16).toString('base64url'),
    iat: input.iat,
    htm: input.method,
    htu: input.url,
    ath: createHash('sha256').update(input.token, 'ascii').digest('base64url'),
  };
  if (input.decision !== undefined) claims.decision = input.decision;
  if (input.code !== undefined) claims.code = input.code;
  if (input.comment !== undefined) claims.comment = input.comment;
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${b64url(key.sign(Buffer.from(signingInput, 'ascii')))}`;
}
