import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JSONWebKeySet, type JWTHeaderParameters, SignJWT } from 'jose';

export const ISSUER = 'https://tx.example.test';
export const AUDIENCE = 'https://rx.example.test/ssf';
export const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);

/** A test SSF transmitter: an RS256 key (2048 bits, per the CAEP interoperability profile) and SETs signed with it. */
export async function createTestTransmitter(options: { alg?: 'RS256' | 'ES256'; kid?: string } = {}) {
  const alg = options.alg ?? 'RS256';
  const kid = options.kid ?? randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [jwk] };

  /** Signs a SET; `claims` override the defaults, `header` the protected header. */
  async function sign(
    events: Record<string, Record<string, unknown>>,
    claims: Record<string, unknown> = {},
    header: Partial<JWTHeaderParameters> = {},
  ): Promise<string> {
    return new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      jti: randomUUID(),
      iat: Math.floor(T0 / 1000),
      sub_id: { format: 'email', email: 'alice@example.com' },
      events,
      ...claims,
    })
      .setProtectedHeader({ alg, kid, typ: 'secevent+jwt', ...header })
      .sign(privateKey);
  }
  return { jwks, jwk, kid, privateKey, publicKey, sign };
}

/** A push delivery as RFC 8935 §2 describes it. */
export function push(body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Request {
  return new Request(AUDIENCE, {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt', authorization: 'Bearer push-secret', ...headers },
    body,
  });
}
