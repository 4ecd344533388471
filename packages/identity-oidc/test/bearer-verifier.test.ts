import { type OidcTestProvider, startOidcProvider } from '@idrelay/testkit/oidc';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BearerVerifierOptions, createBearerVerifier } from '../src/index.js';

const API = 'https://api.idrelay.test';
let op: OidcTestProvider;
let opaqueToken: string;
let keys: { privateKey: CryptoKeyLike; jwks: { keys: object[] } };
type CryptoKeyLike = Parameters<SignJWT['sign']>[0];

beforeAll(async () => {
  op = await startOidcProvider();
  const [c] = op.clients;
  const config = await client.discovery(op.url, c!.clientId, c!.clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  opaqueToken = (await client.clientCredentialsGrant(config, { scope: 'openid' })).access_token;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  keys = { privateKey, jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'api-key', alg: 'ES256' }] } };
});
afterAll(() => op?.close());

function verifier(overrides: Partial<BearerVerifierOptions> = {}) {
  const [c] = op.clients;
  return createBearerVerifier({
    issuer: op.issuer,
    audience: API,
    introspection: { clientId: c!.clientId, clientSecret: c!.clientSecret },
    allowInsecureRequests: true,
    ...overrides,
  });
}

const bearer = (token: string) => new Request(API, { headers: { authorization: `Bearer ${token}` } });

async function jwt(claims: Record<string, unknown> = {}, alg = 'ES256') {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: op.issuer,
    aud: API,
    sub: 'alice',
    scope: 'ssf.read push',
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg, kid: 'api-key', typ: 'at+jwt' })
    .sign(keys.privateKey);
}

describe('createBearerVerifier against a loopback OpenID Provider', () => {
  it('introspects an opaque client-credentials token issued by the OP (RFC 7662)', async () => {
    const principal = await verifier()(bearer(opaqueToken));
    expect(principal).toMatchObject({ via: 'introspection', clientId: op.clients[0]!.clientId });
    expect(principal.subject).toBe(op.clients[0]!.clientId);
    expect(principal.claims.active).toBe(true);
  });

  it('refuses an opaque token the OP does not know as inactive', async () => {
    await expect(verifier()(bearer('not-a-token-the-op-issued'))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      message: expect.stringMatching(/not active/),
    });
  });

  it('refuses opaque tokens when no introspection client is configured', async () => {
    await expect(verifier({ introspection: undefined })(bearer(opaqueToken))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
    });
  });

  it('verifies a JWT access token: subject, scopes and claims', async () => {
    const principal = await verifier({ keys: keys.jwks })(bearer(await jwt()));
    expect(principal).toMatchObject({ via: 'jwt', subject: 'alice', scopes: ['ssf.read', 'push'] });
  });

  it.each([
    ['expired beyond the skew', { exp: Math.floor(Date.now() / 1000) - 60 }],
    ['for another audience', { aud: 'https://other.example' }],
    ['from another issuer', { iss: 'https://evil.example' }],
    ['without a subject', { sub: undefined }],
  ])('refuses a JWT access token %s', async (_name, claims) => {
    await expect(verifier({ keys: keys.jwks })(bearer(await jwt(claims)))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
    });
  });

  it('tolerates an expiry within clockToleranceSeconds', async () => {
    const token = await jwt({ exp: Math.floor(Date.now() / 1000) - 10 });
    await expect(verifier({ keys: keys.jwks })(bearer(token))).resolves.toMatchObject({ subject: 'alice' });
  });

  it('refuses an HS256 token keyed with the public JWK, and a key the issuer does not publish', async () => {
    const forged = await new SignJWT({
      iss: op.issuer,
      aud: API,
      sub: 'alice',
      exp: Math.floor(Date.now() / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'api-key' })
      .sign(new TextEncoder().encode(JSON.stringify(keys.jwks.keys[0])));
    await expect(verifier({ keys: keys.jwks })(bearer(forged))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
    });
    // Without `keys` the OP's jwks_uri is used, which does not hold our test key.
    await expect(verifier()(bearer(await jwt()))).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN_INVALID' });
    expect(() => verifier({ algorithms: ['HS256'] })).toThrow(TypeError);
  });

  it('refuses a token lacking a required scope, and a request without a bearer token', async () => {
    await expect(
      verifier({ keys: keys.jwks, requiredScopes: ['ssf.manage'] })(bearer(await jwt())),
    ).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      details: { missing: ['ssf.manage'] },
    });
    await expect(verifier()(new Request(API))).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN_MISSING' });
    const basic = new Request(API, { headers: { authorization: 'Basic YWxpY2U6cHc=' } });
    await expect(verifier()(basic)).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN_MISSING' });
  });

  it('reports an unreachable issuer as ERR_OIDC_UNAVAILABLE, and discovers again once it is back', async () => {
    const clients = [
      {
        client_id: 'rs',
        client_secret: 'rs-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ];
    const first = await startOidcProvider({ clients });
    const port = Number(first.url.port);
    await first.close();
    const verify = createBearerVerifier({
      issuer: first.issuer,
      audience: API,
      introspection: { clientId: 'rs', clientSecret: 'rs-secret' },
      allowInsecureRequests: true,
    });
    await expect(verify(bearer('abc'))).rejects.toMatchObject({ code: 'ERR_OIDC_UNAVAILABLE' });
    const again = await startOidcProvider({ clients, port });
    try {
      // Discovery and introspection now work: the unknown token is judged, not the issuer.
      await expect(verify(bearer('abc'))).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN_INVALID' });
    } finally {
      await again.close();
    }
  });
});
