import { generateKeyPairSync } from 'node:crypto';
import { type OidcTestProvider, startOidcProvider } from '@idrelay/testkit/oidc';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet, SignJWT } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BearerVerifierOptions, createBearerVerifier } from '../src/index.js';

// JWT access tokens (RFC 9068) issued by the loopback OP for a resource indicator (RFC 8707), verified by
// verifyBearer against the OP's own JWKS.
const RELAY = 'https://relay.example/v1';
const OTHER = 'https://other.example/v1';
const resourceServers = { [RELAY]: { scope: 'relay.read relay.write' }, [OTHER]: { scope: 'relay.read' } };
const clients = [
  {
    client_id: 'relay-caller',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  },
];

let op: OidcTestProvider;
let stranger: OidcTestProvider;

async function accessToken(provider: OidcTestProvider, resource = RELAY, scope = 'relay.read') {
  const [c] = provider.clients;
  const config = await client.discovery(provider.url, c!.clientId, c!.clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  return (await client.clientCredentialsGrant(config, { scope, resource })).access_token;
}

beforeAll(async () => {
  [op, stranger] = await Promise.all([
    startOidcProvider({ clients, resourceServers }),
    startOidcProvider({ clients, resourceServers }),
  ]);
});
afterAll(async () => {
  await Promise.all([op?.close(), stranger?.close()]);
});

/** Every request the verifier makes, by path. */
function recordingFetch() {
  const paths: string[] = [];
  const recorded: typeof fetch = (input, init) => {
    paths.push(new URL(input instanceof Request ? input.url : input).pathname);
    return fetch(input, init);
  };
  return { paths, fetch: recorded };
}

function verifier(overrides: Partial<BearerVerifierOptions> = {}) {
  return createBearerVerifier({ issuer: op.issuer, audience: RELAY, allowInsecureRequests: true, ...overrides });
}

const bearer = (token: string) => new Request(RELAY, { headers: { authorization: `Bearer ${token}` } });

/** Re-signs a token's payload under another header and key (the forgeries below). */
function part(value: object) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('JWT access tokens from the loopback OP (RFC 9068)', () => {
  it('verifies a real at+jwt token: issuer, audience, client, scopes', async () => {
    const token = await accessToken(op, RELAY, 'relay.read relay.write');
    expect(decodeProtectedHeader(token)).toMatchObject({ typ: 'at+jwt', alg: 'RS256', kid: op.keys.kid });
    const principal = await verifier({ requiredScopes: ['relay.write'] })(bearer(token));
    expect(principal).toMatchObject({
      via: 'jwt',
      subject: 'relay-caller',
      clientId: 'relay-caller',
      scopes: ['relay.read', 'relay.write'],
      claims: { iss: op.issuer, aud: RELAY },
    });
  });

  it('refuses the token once expired beyond the clock skew, and accepts it within the skew', async () => {
    const token = await accessToken(op);
    const { exp } = decodeJwt(token) as { exp: number };
    await expect(verifier({ now: () => (exp + 20) * 1000 })(bearer(token))).resolves.toMatchObject({
      subject: 'relay-caller',
    });
    await expect(verifier({ now: () => (exp + 31) * 1000 })(bearer(token))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      details: { reason: 'ERR_JWT_EXPIRED', claim: 'exp' },
    });
    await expect(
      verifier({ now: () => (exp + 6) * 1000, clockToleranceSeconds: 5 })(bearer(token)),
    ).rejects.toMatchObject({ details: { reason: 'ERR_JWT_EXPIRED' } });
  });

  it('refuses a token the same OP issued for another resource (wrong audience)', async () => {
    const token = await accessToken(op, OTHER);
    expect(decodeJwt(token).aud).toBe(OTHER);
    await expect(verifier()(bearer(token))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      details: { claim: 'aud' },
    });
  });

  it("refuses a token from another issuer, even when that issuer's keys are trusted", async () => {
    const token = await accessToken(stranger);
    await expect(verifier({ keys: stranger.keys.jwks as JSONWebKeySet })(bearer(token))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      details: { claim: 'iss' },
    });
    // With the discovered keys it fails earlier: the stranger's kid is not in our issuer's JWKS.
    await expect(verifier()(bearer(token))).rejects.toMatchObject({
      details: { reason: 'ERR_JWKS_NO_MATCHING_KEY' },
    });
  });

  it('refuses alg none and HS256 keyed with the public key (as JWK JSON and as PEM)', async () => {
    const payload = decodeJwt(await accessToken(op));
    const unsigned = `${part({ alg: 'none', typ: 'at+jwt' })}.${part(payload)}.`;
    await expect(verifier()(bearer(unsigned))).rejects.toMatchObject({ code: 'ERR_OIDC_TOKEN_INVALID' });

    const jwk = op.keys.jwks.keys[0]!;
    const publicKeys = [
      new TextEncoder().encode(JSON.stringify(jwk)),
      new TextEncoder().encode(
        (await import('node:crypto')).createPublicKey({ key: jwk as never, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        }) as string,
      ),
    ];
    for (const secret of publicKeys) {
      const forged = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'HS256', kid: op.keys.kid, typ: 'at+jwt' })
        .sign(secret);
      await expect(verifier()(bearer(forged))).rejects.toMatchObject({
        code: 'ERR_OIDC_TOKEN_INVALID',
        details: { reason: 'ERR_JOSE_ALG_NOT_ALLOWED' },
      });
    }
  });

  it('refuses a token whose typ is not at+jwt (an ID token for the same audience, say) unless typ: false', async () => {
    const payload = decodeJwt(await accessToken(op));
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keys = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'own', alg: 'ES256' }] };
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'own', typ: 'JWT' })
      .sign(privateKey);
    await expect(verifier({ keys })(bearer(token))).rejects.toMatchObject({
      code: 'ERR_OIDC_TOKEN_INVALID',
      details: { reason: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' },
    });
    await expect(verifier({ keys, typ: false })(bearer(token))).resolves.toMatchObject({ subject: 'relay-caller' });
  });

  it('refetches the JWKS once for an unknown kid, then not again within the cooldown', async () => {
    const recorder = recordingFetch();
    const verify = verifier({ fetch: recorder.fetch, jwksCooldownSeconds: 3600 });
    await verify(bearer(await accessToken(op)));
    await verify(bearer(await accessToken(op)));
    expect(recorder.paths.filter((path) => path === '/jwks')).toHaveLength(1);

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const payload = decodeJwt(await accessToken(op));
    const rotated = (kid: string) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' }).sign(privateKey);
    // The first unknown kid is within jose's default 30 s since the last fetch; with our cooldown of an hour no
    // forged kid makes the verifier call the OP again.
    for (const kid of ['rotated-1', 'rotated-2', 'rotated-3']) {
      await expect(verify(bearer(await rotated(kid)))).rejects.toMatchObject({
        code: 'ERR_OIDC_TOKEN_INVALID',
        details: { reason: 'ERR_JWKS_NO_MATCHING_KEY' },
      });
    }
    expect(recorder.paths.filter((path) => path === '/jwks')).toHaveLength(1);

    // With no cooldown, an unknown kid does refetch (a key the OP has just rotated in would be found).
    const eager = recordingFetch();
    const verifyEager = verifier({ fetch: eager.fetch, jwksCooldownSeconds: 0 });
    await verifyEager(bearer(await accessToken(op)));
    await expect(verifyEager(bearer(await rotated('rotated-4')))).rejects.toMatchObject({
      details: { reason: 'ERR_JWKS_NO_MATCHING_KEY' },
    });
    expect(eager.paths.filter((path) => path === '/jwks')).toHaveLength(2);
  });

  it('reports a JWKS endpoint that fails as ERR_OIDC_UNAVAILABLE, not as a bad token', async () => {
    const broken: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      return url.pathname === '/jwks' ? Promise.resolve(new Response('down', { status: 503 })) : fetch(input, init);
    };
    await expect(verifier({ fetch: broken })(bearer(await accessToken(op)))).rejects.toMatchObject({
      code: 'ERR_OIDC_UNAVAILABLE',
    });
  });
});
