import { type OidcTestProvider, startOidcProvider } from '@idrelay/testkit/oidc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientCredentialsOptions, createBearerVerifier, createClientCredentials } from '../src/index.js';

let op: OidcTestProvider;
const CLIENT = { client_id: 'write-back', client_secret: 'wb-secret', grant_types: ['client_credentials'] };

beforeAll(async () => {
  op = await startOidcProvider({ clients: [{ ...CLIENT, redirect_uris: [], response_types: [] }] });
});
afterAll(() => op?.close());

function setup(overrides: Partial<ClientCredentialsOptions> = {}) {
  let clock = Date.now();
  const tokenRequests: string[] = [];
  const countingFetch: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith('/token')) tokenRequests.push(url);
    return fetch(input, init);
  };
  const credentials = createClientCredentials({
    issuer: op.issuer,
    clientId: CLIENT.client_id,
    clientSecret: CLIENT.client_secret,
    allowInsecureRequests: true,
    fetch: countingFetch,
    now: () => clock,
    ...overrides,
  });
  return { credentials, tokenRequests, advance: (ms: number) => (clock += ms) };
}

describe('createClientCredentials against a loopback OpenID Provider', () => {
  it('gets a token the OP accepts on introspection, and reuses it while it is fresh', async () => {
    const { credentials, tokenRequests } = setup();
    const first = await credentials.token();
    expect(await credentials.token()).toBe(first);
    expect(tokenRequests).toHaveLength(1);
    const verify = createBearerVerifier({
      issuer: op.issuer,
      audience: 'https://api.idrelay.test',
      introspection: { clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret },
      allowInsecureRequests: true,
    });
    const request = new Request('https://api.idrelay.test', { headers: { authorization: `Bearer ${first}` } });
    await expect(verify(request)).resolves.toMatchObject({ clientId: 'write-back', via: 'introspection' });
  });

  it('shares one token request among concurrent callers', async () => {
    const { credentials, tokenRequests } = setup();
    const tokens = await Promise.all(Array.from({ length: 5 }, () => credentials.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(tokenRequests).toHaveLength(1);
  });

  it('renews refreshBeforeSeconds before expiry (the OP issues 600 s tokens), and after invalidate()', async () => {
    const { credentials, tokenRequests, advance } = setup({ refreshBeforeSeconds: 60 });
    const first = await credentials.token();
    advance(539_000);
    expect(await credentials.token()).toBe(first);
    advance(2_000);
    const second = await credentials.token();
    expect(second).not.toBe(first);
    credentials.invalidate();
    const third = await credentials.token();
    expect(third).not.toBe(second);
    expect(tokenRequests).toHaveLength(3);
  });

  it('reports a refused client as ERR_OIDC_UNAVAILABLE with the OP challenge as cause, and caches nothing', async () => {
    const { credentials, tokenRequests } = setup({ clientSecret: 'wrong' });
    const error = await credentials.token().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_OIDC_UNAVAILABLE' });
    expect((error as Error).cause).toMatchObject({ name: 'WWWAuthenticateChallengeError' });
    await expect(credentials.token()).rejects.toMatchObject({ code: 'ERR_OIDC_UNAVAILABLE' });
    expect(tokenRequests).toHaveLength(2);
  });

  it('refuses missing credentials at creation', () => {
    expect(() => createClientCredentials({ issuer: op.issuer, clientId: '', clientSecret: 'x' })).toThrow(TypeError);
  });
});
