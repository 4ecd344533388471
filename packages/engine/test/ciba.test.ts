/**
 * CIBA round trip against a real OpenID Provider (oidc-provider 9 on loopback, from @idrelay/testkit/oidc) with
 * openid-client 6 as the client: the client starts a backchannel authentication with `login_hint` and a
 * `binding_message` (the number-matching code), the relay pushes a login verification through a real Web Push
 * transport to the testkit's push service, the device (an ES256 key made with WebCrypto) fetches the details and
 * answers with a signed proof, and the client's poll ends with an ID token, `access_denied` or `expired_token`.
 *
 * Time: the relay runs on a manual clock and scheduler (the test calls `relay.drain()`), the OP and the client on
 * real time with the OP's poll interval set to 50 ms, so nothing sleeps and no fake timer fights the HTTP.
 */
import { randomInt, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store, WebPushSubscription } from '@idrelay/core';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory, startWebPushService, type WebPushService } from '@idrelay/testkit';
import { type OidcTestProvider, startOidcProvider } from '@idrelay/testkit/oidc';
import { createWebPushTransport, generateVapidKeys } from '@idrelay/transport-webpush';
import * as oidc from 'openid-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CibaTrigger, createCibaTrigger, createCibaWriteBack } from '../src/ciba.js';
import { ACTION_DEFAULTS, createRelay, defaultRules, type Relay, signProof } from '../src/index.js';

interface Device {
  deviceId: string;
  keys: webcrypto.CryptoKeyPair;
  subscription: WebPushSubscription;
}

describe('CIBA: the relay as the authentication device of an OpenID Provider', () => {
  let dir: string;
  let store: Store;
  let op: OidcTestProvider;
  let pushService: WebPushService;
  let relay: Relay;
  let device: Device;
  let config: oidc.Configuration;
  let ciba: CibaTrigger;
  let now: number;
  const clock = { now: () => now };
  const manualScheduler = { setTimeout: () => undefined, clearTimeout: () => {} };
  const written: string[] = [];

  async function openRelay(): Promise<Relay> {
    const transport = createWebPushTransport({
      vapid: { ...vapid, subject: 'mailto:security@example.test' },
      ca: pushService.ca,
    });
    const next = createRelay({
      store,
      directory: createMemoryDirectory({ users: [{ id: 'alice' }, { id: 'bob' }], groups: [] }),
      transports: [transport],
      rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }),
      clock,
      scheduler: manualScheduler,
      random: () => 0.5,
      writeBacks: [
        createCibaWriteBack({ provider: op.provider, errors: op.errors, flows: store.flows }),
        {
          name: 'audit-copy',
          types: ['idrelay.auth.verification.approved', 'idrelay.auth.verification.denied'],
          async write(event) {
            written.push(event.type);
            return { status: 'written' };
          },
        },
      ],
    });
    ciba = createCibaTrigger({ verifications: next.verifications, flows: store.flows, errors: op.errors });
    return next;
  }
  const vapid = generateVapidKeys();

  beforeEach(async () => {
    now = Date.now();
    written.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'idrelay-ciba-'));
    store = await createSqliteStore({ path: join(dir, 'relay.db') });
    pushService = await startWebPushService();
    op = await startOidcProvider({
      accounts: { alice: { email: 'alice@example.test' }, bob: {} },
      ciba: {
        pollIntervalSeconds: 0.05,
        // The relay is made after the OP (its write-back needs the provider), so the hooks forward to it.
        triggerAuthenticationDevice: (ctx, request, account, client) =>
          ciba.triggerAuthenticationDevice(ctx, request, account, client),
        validateBindingMessage: (ctx, message) => ciba.validateBindingMessage(ctx, message),
      },
    });
    relay = await openRelay();

    // Enrolment: a P-256 key made on the "device" with WebCrypto, its public half sent as a JWK.
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const subscription = pushService.subscribe();
    const { code } = await relay.devices.issueEnrolmentCode('alice');
    await relay.devices.enrol({
      platform: 'webpush',
      subscription,
      code,
      deviceId: 'alice-laptop',
      publicKey: (await webcrypto.subtle.exportKey('jwk', keys.publicKey)) as never,
      algorithm: 'ES256',
    });
    device = { deviceId: 'alice-laptop', keys, subscription };

    const [client] = op.clients;
    config = await oidc.discovery(op.url, client!.clientId, client!.clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
  });

  afterEach(async () => {
    await relay.close();
    await store.close();
    await op.close();
    await pushService.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the service worker would read from the push it decrypted. */
  function lastPush(): { nid: string; tok: string; verificationId: string } {
    const pushes = pushService.received(device.subscription);
    const data = pushes.at(-1)?.json<{ data: Record<string, string> }>().data;
    if (!data?.tok || !data.nid || !data.verificationId) throw new Error('no actionable push arrived');
    return { nid: data.nid, tok: data.tok, verificationId: data.verificationId };
  }

  const proof = (tok: string, claims: { method: 'GET' | 'POST'; decision?: string; code?: string }) =>
    signProof({
      privateKey: device.keys.privateKey,
      algorithm: 'ES256',
      deviceId: device.deviceId,
      token: tok,
      method: claims.method,
      url: claims.method === 'GET' ? ACTION_DEFAULTS.detailsUrl : ACTION_DEFAULTS.respondUrl,
      iat: Math.floor(now / 1000),
      ...(claims.decision !== undefined ? { decision: claims.decision } : {}),
      ...(claims.code !== undefined ? { code: claims.code } : {}),
    });

  const newCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

  async function startCiba(bindingMessage: string, loginHint = 'alice') {
    const started = await oidc.initiateBackchannelAuthentication(config, {
      scope: 'openid email',
      login_hint: loginHint,
      binding_message: bindingMessage,
    });
    await relay.drain(); // the push goes out
    return started;
  }

  const pollError = (work: Promise<unknown>) =>
    work.then(
      () => 'no error',
      (error: { error?: string }) => error.error,
    );

  it('approve: the device sees the request, types the code, and the client gets an ID token with amr push', async () => {
    const code = newCode();
    const started = await startCiba(code);
    const push = lastPush();
    // The push carries ids and a token only: never the code or who is signing in where.
    expect(JSON.stringify(pushService.received(device.subscription))).not.toContain(code);

    const details = await relay.details({ token: push.tok, proof: await proof(push.tok, { method: 'GET' }) });
    expect(details).toMatchObject({
      numberMatching: true,
      details: { application: { id: 'ciba-client' }, status: 'pending' },
    });

    const polling = oidc.pollBackchannelAuthenticationGrant(config, started);
    const answer = await relay.respond({
      token: push.tok,
      proof: await proof(push.tok, { method: 'POST', decision: 'approve', code }),
    });
    expect(answer).toMatchObject({ status: 'applied', state: 'approved' });
    await relay.drain(); // the outgoing log hands the decision to the CIBA write-back

    const tokens = await polling;
    expect(tokens.claims()).toMatchObject({
      iss: op.issuer,
      sub: 'alice',
      amr: ['push', 'swk'],
      auth_time: Math.floor(now / 1000),
    });
    // The grant carries the scopes the client asked for (email goes to userinfo, as oidc-provider conforms).
    expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'openid']);
    expect(written).toEqual(['idrelay.auth.verification.approved']);
    expect(await relay.verifications.get(push.verificationId)).toMatchObject({ status: 'approved' });
  });

  it('the binding message is the number to match: a different code does not approve the sign-in', async () => {
    const code = newCode();
    const started = await startCiba(code);
    const push = lastPush();
    const wrong = code === '000000' ? '000001' : '000000';
    await expect(
      relay.respond({
        token: push.tok,
        proof: await proof(push.tok, { method: 'POST', decision: 'approve', code: wrong }),
      }),
    ).rejects.toMatchObject({ code: 'ERR_ACTION_CODE_MISMATCH' });
    await relay.drain();
    const state = await op.provider.BackchannelAuthenticationRequest.find(started.auth_req_id);
    expect(state?.grantId).toBeUndefined();
    expect(state?.error).toBeUndefined();
  });

  it('deny: the client gets access_denied', async () => {
    const started = await startCiba(newCode());
    const push = lastPush();
    const polling = pollError(oidc.pollBackchannelAuthenticationGrant(config, started));
    await relay.respond({ token: push.tok, proof: await proof(push.tok, { method: 'POST', decision: 'deny' }) });
    await relay.drain();
    expect(await polling).toBe('access_denied');
  });

  it('expiry: a verification nobody answers ends the client poll with expired_token', async () => {
    const started = await startCiba(newCode());
    const polling = pollError(oidc.pollBackchannelAuthenticationGrant(config, started));
    now += 91_000; // past the relay's 90 s verification lifetime
    await relay.drain(); // the expiry timer fires, the outgoing log reports it
    expect(await polling).toBe('expired_token');
    expect(await relay.verifications.get(lastPush().verificationId)).toMatchObject({ status: 'expired' });
  });

  it('a decision made just before the relay stopped reaches the OP after a restart, once', async () => {
    const code = newCode();
    const started = await startCiba(code);
    const push = lastPush();
    await relay.respond({
      token: push.tok,
      proof: await proof(push.tok, { method: 'POST', decision: 'approve', code }),
    });
    // Stopped before its outgoing log ran: nothing was reported yet, the client is still pending.
    await relay.close();
    await store.close();
    const before = await op.provider.BackchannelAuthenticationRequest.find(started.auth_req_id);
    expect(before?.grantId).toBeUndefined();

    store = await createSqliteStore({ path: join(dir, 'relay.db') });
    relay = await openRelay();
    const polling = oidc.pollBackchannelAuthenticationGrant(config, started);
    expect((await relay.drain()).outgoing).toBeGreaterThan(0);
    expect((await polling).claims()).toMatchObject({ sub: 'alice', amr: ['push', 'swk'] });
    expect(await relay.drain()).toMatchObject({ outgoing: 0 });
    expect(written).toEqual(['idrelay.auth.verification.approved']);
  });

  it('the write-back is idempotent and retries what the OP could not take', async () => {
    const writeBack = createCibaWriteBack({ provider: op.provider, errors: op.errors, flows: store.flows });
    const event = (verificationId: string) =>
      ({
        type: 'idrelay.auth.verification.approved',
        data: { verificationId, userId: 'alice', deviceId: 'alice-laptop', decidedAt: new Date(now).toISOString() },
      }) as never;
    expect(await writeBack.write(event('v_not-from-ciba'))).toMatchObject({ status: 'skipped' });

    const code = newCode();
    const started = await startCiba(code);
    const { verificationId } = lastPush();
    // The OP fails once: the write-back asks to be retried with its code, and the retry lands.
    const find = op.provider.BackchannelAuthenticationRequest.find;
    op.provider.BackchannelAuthenticationRequest.find = async () => {
      throw new Error('adapter unavailable');
    };
    expect(await writeBack.write(event(verificationId))).toMatchObject({
      status: 'failed',
      code: 'ERR_CIBA_RESULT_FAILED',
      retryable: true,
    });
    op.provider.BackchannelAuthenticationRequest.find = find;
    expect(await writeBack.write(event(verificationId))).toMatchObject({
      status: 'written',
      reference: started.auth_req_id,
    });
    // A second delivery of the same outcome (at-least-once) reports nothing twice.
    const granted = (await op.provider.BackchannelAuthenticationRequest.find(started.auth_req_id))?.grantId;
    expect(await writeBack.write(event(verificationId))).toMatchObject({ status: 'skipped' });
    expect((await op.provider.BackchannelAuthenticationRequest.find(started.auth_req_id))?.grantId).toBe(granted);
  });

  it('refuses a binding message that is not the code, and a user without an enrolled device, at the OP', async () => {
    await expect(
      oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'alice', binding_message: 'OK' }),
    ).rejects.toMatchObject({ error: 'invalid_binding_message' });
    await expect(
      oidc.initiateBackchannelAuthentication(config, { scope: 'openid', login_hint: 'alice' }),
    ).rejects.toMatchObject({ error: 'invalid_binding_message' });
    await expect(
      oidc.initiateBackchannelAuthentication(config, {
        scope: 'openid',
        login_hint: 'bob',
        binding_message: newCode(),
      }),
    ).rejects.toMatchObject({ error: 'access_denied' });
    await relay.drain();
    expect(pushService.received(device.subscription)).toHaveLength(0);
  });

  it('verifications.start() refuses a given code that is not codeDigits digits', async () => {
    await expect(
      relay.verifications.start({ userId: 'alice', application: 'Payroll', code: '12345' }),
    ).rejects.toMatchObject({ code: 'ERR_VERIFICATION_INVALID' });
    await expect(
      relay.verifications.start({ userId: 'alice', application: 'Payroll', code: '12345a' }),
    ).rejects.toMatchObject({ code: 'ERR_VERIFICATION_INVALID' });
  });
});
