import { afterEach, describe, expect, it } from 'vitest';
import { type OidcTestProvider, startOidcProvider, type TriggerAuthenticationDevice } from '../src/oidc.js';

const started: OidcTestProvider[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((op) => op.close()));
});

async function start(...args: Parameters<typeof startOidcProvider>): Promise<OidcTestProvider> {
  const op = await startOidcProvider(...args);
  started.push(op);
  return op;
}

function basic(op: OidcTestProvider): string {
  const [client] = op.clients;
  return `Basic ${Buffer.from(`${client?.clientId}:${client?.clientSecret}`).toString('base64')}`;
}

async function post(op: OidcTestProvider, path: string, form: Record<string, string>) {
  const response = await fetch(new URL(path, op.url), {
    method: 'POST',
    headers: { authorization: basic(op), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function decodePayload(jwt: unknown): Record<string, unknown> {
  const part = String(jwt).split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('startOidcProvider', () => {
  it('serves discovery on a loopback port with CIBA, client credentials and introspection, and its own key', async () => {
    const one = await start({ ciba: { triggerAuthenticationDevice: async () => undefined } });
    const two = await start();
    expect(one.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(one.issuer).not.toBe(two.issuer);

    const meta = (await (await fetch(new URL('/.well-known/openid-configuration', one.url))).json()) as Record<
      string,
      unknown
    >;
    expect(meta.issuer).toBe(one.issuer);
    expect(meta.backchannel_authentication_endpoint).toBe(`${one.issuer}/backchannel`);
    expect(meta.backchannel_token_delivery_modes_supported).toEqual(['poll']);
    expect(meta.grant_types_supported).toEqual(
      expect.arrayContaining(['client_credentials', 'urn:openid:params:grant-type:ciba']),
    );
    expect(meta.introspection_endpoint).toBe(`${one.issuer}/token/introspection`);

    const jwks = (await (await fetch(new URL('/jwks', one.url))).json()) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([one.keys.kid]);
    expect(jwks.keys[0]?.d).toBeUndefined();
    expect(one.keys.kid).not.toBe(two.keys.kid);
    expect(one.keys.jwks.keys[0]).not.toHaveProperty('d');

    // Without `ciba` the feature is off: no backchannel endpoint.
    const plain = (await (await fetch(new URL('/.well-known/openid-configuration', two.url))).json()) as Record<
      string,
      unknown
    >;
    expect(plain.backchannel_authentication_endpoint).toBeUndefined();
  });

  it('issues a client-credentials token that introspects active, and refuses a wrong secret', async () => {
    const op = await start();
    const token = await post(op, '/token', { grant_type: 'client_credentials' });
    expect(token.status).toBe(200);
    const introspected = await post(op, '/token/introspection', { token: String(token.body.access_token) });
    expect(introspected.body).toMatchObject({ active: true, client_id: 'ciba-client' });

    const wrong = await fetch(new URL('/token', op.url), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('ciba-client:nope').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(wrong.status).toBe(401);
  });

  it('hands a CIBA request to the trigger and issues an ID token once the test reports the result', async () => {
    const seen: { accountId: string; bindingMessage: unknown; clientId: string; jti: string }[] = [];
    const trigger: TriggerAuthenticationDevice = async (_ctx, request, account, client) => {
      seen.push({
        accountId: account.accountId,
        bindingMessage: request.params?.binding_message,
        clientId: client.clientId,
        jti: request.jti,
      });
    };
    const op = await start({
      accounts: { alice: { email: 'alice@example.test' } },
      ciba: { triggerAuthenticationDevice: trigger, pollIntervalSeconds: 0.05 },
    });

    const started = await post(op, '/backchannel', {
      scope: 'openid',
      login_hint: 'alice',
      binding_message: '482913',
    });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ interval: 0.05, expires_in: 600 });
    expect(seen).toEqual([
      { accountId: 'alice', bindingMessage: '482913', clientId: 'ciba-client', jti: started.body.auth_req_id },
    ]);

    const pending = await post(op, '/token', {
      grant_type: 'urn:openid:params:grant-type:ciba',
      auth_req_id: String(started.body.auth_req_id),
    });
    expect(pending.body.error).toBe('authorization_pending');

    // The result is reported by request id alone, as a process that did not keep the request object would.
    const grant = new op.provider.Grant({ clientId: 'ciba-client', accountId: 'alice' });
    grant.addOIDCScope('openid');
    await op.provider.backchannelResult(String(started.body.auth_req_id), await grant.save(), { amr: ['push'] });

    const done = await post(op, '/token', {
      grant_type: 'urn:openid:params:grant-type:ciba',
      auth_req_id: String(started.body.auth_req_id),
    });
    expect(done.status).toBe(200);
    expect(decodePayload(done.body.id_token)).toMatchObject({ iss: op.issuer, sub: 'alice', amr: ['push'] });
  });

  it('refuses an unknown login_hint and a binding message outside the default rule, without calling the trigger', async () => {
    let calls = 0;
    const op = await start({
      ciba: {
        triggerAuthenticationDevice: async () => {
          calls++;
        },
      },
    });
    const unknown = await post(op, '/backchannel', { scope: 'openid', login_hint: 'mallory' });
    expect(unknown.body.error).toBe('unknown_user_id');
    const badMessage = await post(op, '/backchannel', {
      scope: 'openid',
      login_hint: 'alice',
      binding_message: 'this message has spaces',
    });
    expect(badMessage.body.error).toBe('invalid_binding_message');
    expect(calls).toBe(0);
  });

  it('reports a denial to the polling client as access_denied', async () => {
    const op = await start({
      ciba: {
        triggerAuthenticationDevice: async (_ctx, request) => {
          await op.provider.backchannelResult(request, new op.errors.AccessDenied('the user said no'));
        },
      },
    });
    const started = await post(op, '/backchannel', { scope: 'openid', login_hint: 'bob' });
    const denied = await post(op, '/token', {
      grant_type: 'urn:openid:params:grant-type:ciba',
      auth_req_id: String(started.body.auth_req_id),
    });
    // oidc-provider 9.13 keeps only the error code of a backchannel result, not its description.
    expect(denied.body).toMatchObject({ error: 'access_denied' });
  });

  it('refuses bad options with a TypeError that says what was expected', async () => {
    await expect(
      startOidcProvider({ ciba: { triggerAuthenticationDevice: async () => undefined, pollIntervalSeconds: 0 } }),
    ).rejects.toThrow(/pollIntervalSeconds must be a positive number/);
    await expect(
      startOidcProvider({ ciba: {} as unknown as { triggerAuthenticationDevice: TriggerAuthenticationDevice } }),
    ).rejects.toThrow(TypeError);
  });
});
