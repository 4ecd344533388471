/**
 * The simulator's proofs against docs/protocol-vectors.json: Ed25519 is deterministic, so the vector's approval is
 * reproduced byte for byte; ES256 proofs carry the vector's exact header and claims and verify with the device key.
 */
import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDeviceKey, signDeviceProof } from '../src/device.js';

interface Vectors {
  now: number;
  respondUrl: string;
  detailsUrl: string;
  devices: { deviceId: string; algorithm: 'ES256' | 'Ed25519'; privateJwk: JsonWebKey; publicJwk: JsonWebKey }[];
  cases: { name: string; method: 'GET' | 'POST'; request: { token: string; proof: string } }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../docs/protocol-vectors.json', import.meta.url), 'utf8'),
) as Vectors;
const claimsOf = (proof: string) =>
  JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

function resign(name: string) {
  const vector = vectors.cases.find((c) => c.name === name);
  if (vector === undefined) throw new Error(`no vector ${name}`);
  const header = JSON.parse(Buffer.from(vector.request.proof.split('.')[0] ?? '', 'base64url').toString()) as {
    kid: string;
  };
  const device = vectors.devices.find((d) => d.deviceId === header.kid);
  if (device === undefined) throw new Error(`no device ${header.kid}`);
  const claims = claimsOf(vector.request.proof);
  const key = createDeviceKey(device.algorithm, device.privateJwk);
  const proof = signDeviceProof(key, {
    deviceId: device.deviceId,
    token: vector.request.token,
    method: vector.method,
    url: String(claims.htu),
    iat: Number(claims.iat),
    jti: String(claims.jti),
    ...(claims.decision === undefined ? {} : { decision: String(claims.decision) }),
    ...(claims.code === undefined ? {} : { code: String(claims.code) }),
  });
  return { vector, device, proof };
}

describe('signDeviceProof and the protocol vectors', () => {
  it('reproduces the Ed25519 approval byte for byte', () => {
    const { vector, proof } = resign('ed25519-approve');
    expect(proof).toBe(vector.request.proof);
  });

  it.each(['approve', 'details', 'deny-without-code'])(
    '%s: the vector’s header and claims, a signature the key verifies',
    (name) => {
      const { vector, device, proof } = resign(name);
      const [header, payload, signature] = proof.split('.');
      expect(`${header}.${payload}`).toBe(vector.request.proof.split('.').slice(0, 2).join('.'));
      const raw = Buffer.from(signature ?? '', 'base64url');
      expect(raw).toHaveLength(64); // r || s, RFC 7518 §3.4, not DER
      const publicKey = createPublicKey({ key: device.publicJwk, format: 'jwk' });
      expect(
        verify('sha256', Buffer.from(`${header}.${payload}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw),
      ).toBe(true);
    },
  );

  it('binds the token with ath = base64url(SHA-256(token)), RFC 9449 §4.2', () => {
    const { vector, proof } = resign('approve');
    expect(claimsOf(proof).ath).toBe(claimsOf(vector.request.proof).ath);
  });

  it('refuses a stored key of the other algorithm', () => {
    const ed = vectors.devices.find((d) => d.algorithm === 'Ed25519') as Vectors['devices'][number];
    expect(() => createDeviceKey('ES256', ed.privateJwk)).toThrow(/not a P-256 key/);
    expect(() => createDeviceKey('RS256' as never)).toThrow(TypeError);
  });
});
