/**
 * Login verification (push MFA): the code only on the requesting screen, push-bombing limits and back-off, an
 * expired verification never sent, the poll status, and the web-standard handlers' JSON and RFC 9457 answers.
 */
import { type IdentityEvent, isIdrelayError, type Store } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_DEFAULTS } from '../src/index.js';
import { enrolDevice, makeDeviceKey, responseProof, type TestDevice } from './support/device-keys.js';
import { createScenario, type Scenario } from './support/scenario.js';

describe('login verification', () => {
  let store: Store;
  let s: Scenario;
  let iphone: TestDevice;
  let written: IdentityEvent[];
  beforeEach(async () => {
    store = createMemoryStore();
    written = [];
    s = await createScenario(store, {
      writeBacks: [
        {
          name: 'iam',
          types: ['idrelay.auth.verification.denied', 'idrelay.auth.verification.approved'],
          write: async (event) => {
            written.push(event);
            return { status: 'written' };
          },
        },
      ],
    });
    iphone = makeDeviceKey('alice-iphone');
    await enrolDevice(s.relay, 'alice', iphone, { platform: 'apns', token: 'a1a1a1a1a1a1a1a1' });
  });
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });
  const start = (over: Record<string, unknown> = {}) =>
    s.relay.verifications.start({ userId: 'alice', application: 'Payroll', ip: '198.51.100.4', ...over });
  const codeOf = (error: unknown) => (isIdrelayError(error) ? error.code : String(error));
  const sentTo = (id: string) => s.transports.apns.sent.filter((p) => p.message.data?.verificationId === id);

  it('returns a 6-digit code valid for 90 s and pushes to devices with an enrolled key only', async () => {
    const started = await start();
    expect(started.code).toMatch(/^\d{6}$/);
    expect(started.expiresAt - s.clock.now()).toBe(90_000);
    await s.relay.drain();
    expect(sentTo(started.verificationId).map((p) => p.target.deviceId)).toEqual(['alice-iphone']);
    // alice-browser is registered but never enrolled a key: it could not answer, so it gets no prompt at all.
    expect(s.transports.webpush.sent.filter((p) => p.message.data?.verificationId === started.verificationId)).toEqual(
      [],
    );
    const iphonePush = sentTo(started.verificationId)[0]!;
    const stranger = makeDeviceKey('alice-browser');
    const tok = iphonePush.target.data!.tok!;
    const proof = await responseProof(stranger, tok, s.clock.now(), { decision: 'approve', code: started.code });
    expect(codeOf(await s.relay.respond({ token: tok, proof }).catch((e) => e))).toBe('ERR_ACTION_SIGNATURE_INVALID');
    expect(await s.relay.verifications.get(started.verificationId)).toMatchObject({
      status: 'pending',
      userId: 'alice',
    });
    expect(await s.relay.verifications.get('v_unknown')).toBeUndefined();
  });

  it('refuses bad input, a user without an enrolled device, and a TTL outside 60-120 s', async () => {
    expect(codeOf(await start({ userId: undefined }).catch((e) => e))).toBe('ERR_VERIFICATION_INVALID');
    expect(codeOf(await start({ ttlMs: 30_000 }).catch((e) => e))).toBe('ERR_VERIFICATION_INVALID');
    expect(codeOf(await start({ ttlMs: 121_000 }).catch((e) => e))).toBe('ERR_VERIFICATION_INVALID');
    expect(codeOf(await start({ userId: 'bob' }).catch((e) => e))).toBe('ERR_VERIFICATION_NO_DEVICE');
    expect((await start({ ttlMs: 60_000 })).code).toMatch(/^\d{6}$/);
  });

  it('limits pushes to 3 per 5 minutes per user, with retryAfterMs', async () => {
    for (let i = 0; i < 3; i++) {
      await start();
      s.clock.advance(10_000);
    }
    const refused = await start().catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('ERR_VERIFICATION_RATE_LIMITED');
    expect((refused as { details: { retryAfterMs: number } }).details.retryAfterMs).toBe(5 * 60_000 - 30_000);
    s.clock.advance(5 * 60_000 - 30_000);
    expect((await start()).code).toMatch(/^\d{6}$/);
  });

  it('backs off after unanswered pushes and starts over once the user answers', async () => {
    const relax = { maxPushes: 100 };
    await s.relay.close();
    s = await createScenario(store, { verification: relax });
    for (let i = 0; i < 2; i++) {
      await start();
      s.clock.advance(91_000);
      await s.relay.drain();
    }
    const refused = await start().catch((e: unknown) => e);
    expect(codeOf(refused)).toBe('ERR_VERIFICATION_RATE_LIMITED');
    expect((refused as { details: { unanswered: number } }).details.unanswered).toBe(2);
    s.clock.advance(60_000);
    const answered = await start();
    await s.relay.drain();
    const tok = sentTo(answered.verificationId)[0]!.target.data!.tok!;
    const proof = await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: answered.code });
    await s.relay.respond({ token: tok, proof });
    // Answered: the count starts over, so one more unanswered push brings no back-off (without the reset it would
    // be the third in a row: two minutes' wait).
    await start();
    s.clock.advance(91_000);
    await s.relay.drain();
    expect((await start()).code).toMatch(/^\d{6}$/);
  });

  it('never sends an expired verification, marks it expired and tells the IAM system', async () => {
    const started = await start();
    s.clock.advance(90_000);
    await s.relay.drain();
    expect(sentTo(started.verificationId)).toEqual([]);
    expect((await s.relay.verifications.get(started.verificationId))?.status).toBe('expired');
    expect(written.map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([
      ['idrelay.auth.verification.denied', 'timeout'],
    ]);
  });

  it('answers JSON and RFC 9457 problems from the web-standard handlers', async () => {
    const started = await start();
    await s.relay.drain();
    const tok = sentTo(started.verificationId)[0]!.target.data!.tok!;
    const details = await s.relay.actionHandlers.details(
      new Request(ACTION_DEFAULTS.detailsUrl, {
        headers: {
          'idrelay-token': tok,
          'idrelay-proof': await responseProof(iphone, tok, s.clock.now(), { method: 'GET' }),
        },
      }),
    );
    expect(details.status).toBe(200);
    expect(((await details.json()) as { details: { ipAddress: string } }).details.ipAddress).toBe('198.51.100.4');
    const post = async (body: unknown) =>
      s.relay.actionHandlers.respond(
        new Request(ACTION_DEFAULTS.respondUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      );
    const bad = await post({
      token: tok,
      proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: 'nope' }),
    });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
    expect(await bad.json()).toEqual({
      type: 'urn:idrelay:error:ERR_ACTION_CODE_MISMATCH',
      title: expect.stringContaining('number-matching code'),
      status: 422,
      detail: 'The number-matching code is wrong',
      code: 'ERR_ACTION_CODE_MISMATCH',
      attemptsLeft: 2,
    });
    const ok = await post({
      token: tok,
      proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code }),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'applied', state: 'approved' });
    const again = await post({
      token: tok,
      proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code }),
    });
    expect([again.status, ((await again.json()) as { code: string }).code]).toEqual([409, 'ERR_ACTION_TOKEN_USED']);
    expect((await post('not an object')).status).toBe(400);
    const wrongMethod = await s.relay.actionHandlers.respond(new Request(ACTION_DEFAULTS.respondUrl));
    expect(wrongMethod.status).toBe(405);
    const rateLimited = await s.relay.actionHandlers.details(new Request(ACTION_DEFAULTS.detailsUrl));
    expect(rateLimited.status).toBe(400);
  });
});
