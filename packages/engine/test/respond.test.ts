/**
 * The response protocol end to end (docs/protocol.md): a login verification is pushed with an action token, the
 * device fetches the details and answers with a proof signed by its enrolled key. Every rejection case has its own
 * code and changes nothing in the store; on every driver.
 */
import { eventKey, type IdentityEvent, type Store, type WriteBack } from '@idrelay/core';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/index.js';
import { enrolDevice, makeDeviceKey, responseProof, type TestDevice } from './support/device-keys.js';
import { drivers } from './support/drivers.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const ALL = [
  { name: 'memory', available: true, create: async () => createMemoryStore(), cleanup: async () => {} },
  ...drivers,
];

const ADDRESS = {
  iphone: { platform: 'apns', token: 'a1a1a1a1a1a1a1a1' },
  browser: {
    platform: 'webpush',
    subscription: { endpoint: 'https://push.example.net/alice', keys: { p256dh: 'p', auth: 'a' } },
  },
  bob: { platform: 'fcm', token: 'b2b2b2b2b2b2b2b2' },
};

for (const driver of ALL) {
  describe.skipIf(!driver.available)(`device responses on ${driver.name}`, () => {
    let store: Store;
    let s: Scenario;
    let written: IdentityEvent[];
    let iphone: TestDevice;
    let browser: TestDevice;
    let bob: TestDevice;
    let started: { verificationId: string; code: string; expiresAt: number };

    beforeEach(async () => {
      store = await driver.create();
      written = [];
      const writeBack: WriteBack = {
        name: 'iam',
        types: ['idrelay.auth.verification.approved', 'idrelay.auth.verification.denied'],
        async write(event) {
          written.push(event);
          return { status: 'written' };
        },
      };
      s = await createScenario(store, { writeBacks: [writeBack] });
      iphone = makeDeviceKey('alice-iphone');
      browser = makeDeviceKey('alice-browser');
      bob = makeDeviceKey('bob-pixel', 'Ed25519');
      await enrolDevice(s.relay, 'alice', iphone, ADDRESS.iphone);
      await enrolDevice(s.relay, 'alice', browser, ADDRESS.browser);
      await enrolDevice(s.relay, 'bob', bob, ADDRESS.bob);
      started = await s.relay.verifications.start({
        userId: 'alice',
        application: { id: 'payroll', name: 'Payroll' },
        ip: '203.0.113.7',
        userAgent: 'Firefox/140 on Windows',
        location: { city: 'Zurich', country: 'CH' },
      });
      await s.relay.drain();
    });
    afterEach(async () => {
      await s.relay.close();
      await store.close();
      await driver.cleanup(store);
    });

    const tokenOf = (deviceId: string): string => {
      const push = [...s.transports.apns.sent, ...s.transports.webpush.sent].find(
        (p) => p.target.deviceId === deviceId && p.message.data?.verificationId === started.verificationId,
      );
      const tok = push?.target.data?.tok;
      if (tok === undefined) throw new Error(`no token pushed to ${deviceId}`);
      return tok;
    };
    const snapshot = async (...tokens: string[]) => ({
      tokens: await Promise.all(tokens.map((t) => store.actionTokens.get(tokenHash(t)))),
      flow: await store.flows.get(started.verificationId),
      outgoing: await store.outgoing.counts(),
      devices: await store.devices.listByUser('alice'),
    });
    const refusal = async (work: Promise<unknown>) => {
      const error = await work.then(
        () => undefined,
        (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
      );
      expect(error, 'expected a refusal').toBeDefined();
      return error!;
    };
    const approve = async (device: TestDevice, tok: string, claims: Parameters<typeof responseProof>[3] = {}) =>
      s.relay.respond({
        token: tok,
        proof: await responseProof(device, tok, s.clock.now(), { decision: 'approve', code: started.code, ...claims }),
      });
    /** Asserts `work` is refused with `code` and that the store is exactly as before. */
    const refusedUnchanged = async (code: string, tokens: string[], work: () => Promise<unknown>) => {
      const before = await snapshot(...tokens);
      expect((await refusal(work())).code).toBe(code);
      expect(await snapshot(...tokens)).toEqual(before);
    };

    it('pushes only ids and a token: no code, no IP, no user agent, no location', async () => {
      const pushes = [...s.transports.apns.sent, ...s.transports.webpush.sent];
      expect(pushes.map((p) => p.target.deviceId).sort()).toEqual(['alice-browser', 'alice-iphone']);
      for (const push of pushes) {
        const wire = JSON.stringify(push);
        for (const secret of [started.code, '203.0.113.7', 'Firefox', 'Zurich']) expect(wire).not.toContain(secret);
        expect(push.target.data?.nid).toBe(push.message.id);
        expect(push.target.data?.tok).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }
      expect(tokenOf('alice-iphone')).not.toBe(tokenOf('alice-browser'));
      // Only the hash is stored.
      const stored = await store.actionTokens.get(tokenHash(tokenOf('alice-iphone')));
      expect(stored?.record).toMatchObject({
        userId: 'alice',
        deviceId: 'alice-iphone',
        actions: ['approve', 'deny', 'report'],
        flowId: started.verificationId,
        expiresAt: started.expiresAt,
      });
      expect(JSON.stringify(stored)).not.toContain(tokenOf('alice-iphone'));
    });

    it('approves with the right code; the IAM system polls approved and its write-back gets the event once', async () => {
      expect((await s.relay.verifications.get(started.verificationId))?.status).toBe('pending');
      const result = await approve(iphone, tokenOf('alice-iphone'));
      expect(result).toMatchObject({ status: 'applied', decision: 'approve', state: 'approved' });
      expect(await s.relay.verifications.get(started.verificationId)).toMatchObject({
        status: 'approved',
        deviceId: 'alice-iphone',
      });
      await s.relay.drain();
      expect(written.map((e) => e.type)).toEqual(['idrelay.auth.verification.approved']);
      expect(written[0]?.data).toMatchObject({ verificationId: started.verificationId, deviceId: 'alice-iphone' });
      const audit = await store.audit.list({ limit: 500 });
      expect(audit.find((a) => a.action === 'response.accepted')).toMatchObject({
        actor: 'alice',
        details: { deviceId: 'alice-iphone', decision: 'approve' },
      });
    });

    it('still applies once when the flow moved between the read and the one-transaction write', async () => {
      const lookup = store.actionTokens.lookup.bind(store.actionTokens);
      let bumped = false;
      store.actionTokens.lookup = async (hash, deviceId) => {
        const found = await lookup(hash, deviceId);
        if (!bumped && found.flow !== undefined) {
          bumped = true;
          // Another process touches the flow (a reminder, say) after this response read it.
          await store.flows.update(found.flow.id, found.flow.version, { updatedAt: s.clock.now() });
        }
        return found;
      };
      const result = await approve(iphone, tokenOf('alice-iphone'));
      expect(bumped).toBe(true);
      expect(result).toMatchObject({ status: 'applied', state: 'approved' });
      const after = await snapshot(tokenOf('alice-iphone'), tokenOf('alice-browser'));
      expect(after.tokens[0]?.usedAt).toBeDefined();
      expect(after.tokens[1]?.revokedAt).toBeDefined();
      expect(after.flow).toMatchObject({ state: 'approved' });
      const accepted = (await store.audit.list({ limit: 500 })).filter((a) => a.action === 'response.accepted');
      expect(accepted).toHaveLength(1);
      await s.relay.drain();
      expect(written.map((e) => e.type)).toEqual(['idrelay.auth.verification.approved']);
    });

    it('serves the details to the proven device, once per proof', async () => {
      const tok = tokenOf('alice-browser');
      const proof = await responseProof(browser, tok, s.clock.now(), { method: 'GET' });
      const details = await s.relay.details({ token: tok, proof });
      expect(details).toMatchObject({
        flowId: started.verificationId,
        kind: 'login-verification',
        numberMatching: true,
        actions: ['approve', 'deny', 'report'],
        details: {
          application: { id: 'payroll', name: 'Payroll' },
          ipAddress: '203.0.113.7',
          userAgent: 'Firefox/140 on Windows',
          location: { city: 'Zurich', country: 'CH' },
        },
      });
      expect(JSON.stringify(details)).not.toContain(started.code);
      expect((await refusal(s.relay.details({ token: tok, proof }))).code).toBe('ERR_ACTION_PROOF_REPLAYED');
      // The details request consumed nothing: the token still answers.
      expect((await approve(browser, tok)).state).toBe('approved');
    });

    it('refuses an unknown, forged or tampered token', async () => {
      const tok = tokenOf('alice-iphone');
      const forged = 'A'.repeat(43);
      await refusedUnchanged('ERR_ACTION_TOKEN_UNKNOWN', [tok], () => approve(iphone, forged));
      const tampered = `${tok.slice(0, -1)}${tok.endsWith('A') ? 'B' : 'A'}`;
      await refusedUnchanged('ERR_ACTION_TOKEN_UNKNOWN', [tok], async () =>
        s.relay.respond({
          token: tampered,
          proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code }),
        }),
      );
      // A proof made for another token (ath) does not carry this one.
      await refusedUnchanged('ERR_ACTION_PROOF_INVALID', [tok], async () =>
        s.relay.respond({
          token: tok,
          proof: await responseProof(iphone, forged, s.clock.now(), { decision: 'approve', code: started.code }),
        }),
      );
    });

    it('refuses an expired token', async () => {
      const tok = tokenOf('alice-iphone');
      s.clock.advance(91_000);
      await refusedUnchanged('ERR_ACTION_TOKEN_EXPIRED', [tok], () => approve(iphone, tok));
    });

    it('refuses a replayed response, and of 10 concurrent copies exactly one wins', async () => {
      const tok = tokenOf('alice-iphone');
      const proof = await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => s.relay.respond({ token: tok, proof })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      for (const r of lost) expect(r.reason.code).toBe('ERR_ACTION_TOKEN_USED');
      await refusedUnchanged('ERR_ACTION_TOKEN_USED', [tok], () => s.relay.respond({ token: tok, proof }));
      await s.relay.drain();
      expect(written).toHaveLength(1);
    });

    it('refuses a token revoked because another device decided', async () => {
      await approve(iphone, tokenOf('alice-iphone'));
      const tok = tokenOf('alice-browser');
      await refusedUnchanged('ERR_ACTION_TOKEN_REVOKED', [tok], () => approve(browser, tok));
    });

    it('refuses a proof by another device of the recipient, and one by another user', async () => {
      const tok = tokenOf('alice-iphone');
      await refusedUnchanged('ERR_ACTION_WRONG_DEVICE', [tok], () => approve(browser, tok));
      await refusedUnchanged('ERR_ACTION_WRONG_RECIPIENT', [tok], () => approve(bob, tok));
    });

    it('refuses a bad or missing signature, and a signature by another enrolled device', async () => {
      const tok = tokenOf('alice-iphone');
      const good = await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code });
      const [h, p, sig] = good.split('.') as [string, string, string];
      const flipped = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
      await refusedUnchanged('ERR_ACTION_SIGNATURE_INVALID', [tok], () =>
        s.relay.respond({ token: tok, proof: flipped }),
      );
      await refusedUnchanged('ERR_ACTION_SIGNATURE_INVALID', [tok], () =>
        s.relay.respond({ token: tok, proof: `${h}.${p}.` }),
      );
      await refusedUnchanged('ERR_ACTION_SIGNATURE_INVALID', [tok], () => s.relay.respond({ token: tok } as never));
      // The claims altered after signing.
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const altered = Buffer.from(JSON.stringify({ ...claims, decision: 'deny' })).toString('base64url');
      await refusedUnchanged('ERR_ACTION_SIGNATURE_INVALID', [tok], () =>
        s.relay.respond({ token: tok, proof: `${h}.${altered}.${sig}` }),
      );
      // Signed with the browser's key but naming the iPhone: the token travelled to another device.
      const cloned = await responseProof({ ...browser, deviceId: 'alice-iphone' }, tok, s.clock.now(), {
        decision: 'approve',
        code: started.code,
      });
      await refusedUnchanged('ERR_ACTION_SIGNER_MISMATCH', [tok], () => s.relay.respond({ token: tok, proof: cloned }));
    });

    it('verifies on the thread pool under load with the same verdicts: forgeries refused, the genuine answer applied', async () => {
      // Answers arriving together are verified off the event loop; each forged copy must still be refused and only
      // the genuine one (ES256 here, Ed25519 for Bob below) consume its token.
      const tok = tokenOf('alice-iphone');
      const good = await responseProof(iphone, tok, s.clock.now(), { decision: 'approve', code: started.code });
      const [h, p, sig] = good.split('.') as [string, string, string];
      const forged = Array.from({ length: 7 }, (_, i) => {
        const bytes = Buffer.from(sig, 'base64url');
        bytes[i * 9]! ^= 1 << i;
        return `${h}.${p}.${bytes.toString('base64url')}`;
      });
      const results = await Promise.allSettled([
        ...forged.map((proof) => s.relay.respond({ token: tok, proof })),
        s.relay.respond({ token: tok, proof: good }),
      ]);
      expect(results.at(-1)).toMatchObject({ status: 'fulfilled', value: { state: 'approved' } });
      for (const r of results.slice(0, -1)) {
        expect(r).toMatchObject({ status: 'rejected', reason: { code: 'ERR_ACTION_SIGNATURE_INVALID' } });
      }
      const edwards = await s.relay.verifications.start({ userId: 'bob', application: { id: 'payroll' } });
      await s.relay.drain();
      const bobTok = s.transports.fcm.sent.find((m) => m.message.data?.verificationId === edwards.verificationId)
        ?.target.data?.tok;
      expect(bobTok).toBeDefined();
      const bobGood = await responseProof(bob, bobTok!, s.clock.now(), { decision: 'approve', code: edwards.code });
      const [bh, bp, bsig] = bobGood.split('.') as [string, string, string];
      const bobResults = await Promise.allSettled([
        s.relay.respond({ token: bobTok!, proof: `${bh}.${bp}.${bsig.startsWith('A') ? 'B' : 'A'}${bsig.slice(1)}` }),
        s.relay.respond({ token: bobTok!, proof: `${bh}.${bp}.${good.split('.')[2]}` }),
        s.relay.respond({ token: bobTok!, proof: bobGood }),
      ]);
      expect(bobResults.map((r) => (r.status === 'fulfilled' ? r.value.state : r.reason.code))).toEqual([
        'ERR_ACTION_SIGNATURE_INVALID',
        'ERR_ACTION_SIGNATURE_INVALID',
        'approved',
      ]);
    });

    it('refuses a stale or future-dated proof', async () => {
      const tok = tokenOf('alice-iphone');
      const at = s.clock.now();
      for (const iat of [at - 61_000, at + 61_000]) {
        await refusedUnchanged('ERR_ACTION_PROOF_STALE', [tok], async () =>
          s.relay.respond({
            token: tok,
            proof: await responseProof(iphone, tok, iat, { decision: 'approve', code: started.code }),
          }),
        );
      }
      // Within the skew it is accepted.
      const fine = await responseProof(iphone, tok, at - 59_000, { decision: 'approve', code: started.code });
      expect((await s.relay.respond({ token: tok, proof: fine })).state).toBe('approved');
    });

    it('refuses a decision the token does not allow', async () => {
      const tok = tokenOf('alice-iphone');
      await refusedUnchanged('ERR_ACTION_DECISION_NOT_ALLOWED', [tok], () =>
        approve(iphone, tok, { decision: 'escalate' }),
      );
    });

    it('refuses a wrong code (counting it), then fails closed and revokes the request', async () => {
      const tok = tokenOf('alice-iphone');
      const other = tokenOf('alice-browser');
      const wrong = started.code === '000000' ? '000001' : '000000';
      const before = await snapshot(tok, other);
      const first = await refusal(approve(iphone, tok, { code: wrong }));
      expect(first).toMatchObject({ code: 'ERR_ACTION_CODE_MISMATCH', details: { attemptsLeft: 2 } });
      const after = await snapshot(tok, other);
      // Only the attempt count moved.
      expect(after.tokens[0]?.attempts).toBe(1);
      expect({ ...after, tokens: [{ ...after.tokens[0], attempts: 0 }, after.tokens[1]] }).toEqual(before);
      expect((await refusal(approve(iphone, tok, { code: undefined as never }))).code).toBe('ERR_ACTION_CODE_MISMATCH');
      expect((await refusal(approve(iphone, tok, { code: wrong }))).code).toBe('ERR_ACTION_ATTEMPTS_EXCEEDED');
      expect((await s.relay.verifications.get(started.verificationId))?.status).toBe('failed');
      expect((await refusal(approve(browser, other))).code).toBe('ERR_ACTION_TOKEN_REVOKED');
      expect((await refusal(approve(iphone, tok))).code).toBe('ERR_ACTION_TOKEN_REVOKED');
      await s.relay.drain();
      expect(written.map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([
        ['idrelay.auth.verification.denied', 'wrong-number'],
      ]);
    });

    it('refuses a response to a request already decided (the handler verdict), leaving the flow as it was', async () => {
      const flow = (await store.flows.get(started.verificationId))!;
      await store.flows.update(flow.id, flow.version, { state: 'approved', updatedAt: T0 + 1 });
      const tok = tokenOf('alice-browser');
      const before = await snapshot();
      expect((await refusal(approve(browser, tok))).code).toBe('ERR_ACTION_ALREADY_DECIDED');
      expect(await snapshot()).toEqual(before);
      await s.relay.drain();
      expect(written).toEqual([]);
    });

    it('deny and report: denied, the security team alerted, auth.risk.detected raised, the request blocked', async () => {
      const tok = tokenOf('alice-iphone');
      const other = tokenOf('alice-browser');
      s.reset();
      // Refusing needs no code.
      const result = await s.relay.respond({
        token: tok,
        proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'report', comment: 'not me' }),
      });
      expect(result.state).toBe('denied');
      expect(await s.relay.verifications.get(started.verificationId)).toMatchObject({
        status: 'denied',
        reported: true,
      });
      await s.relay.drain();
      const soc = s.received().filter((d) => d === 'erin-pixel' || d === 'frank-browser');
      expect(soc.length).toBeGreaterThanOrEqual(2);
      const risk = await store.events.get(
        eventKey({ source: '/idrelay/relay', id: `${started.verificationId}-risk` } as IdentityEvent),
      );
      expect(risk?.event).toMatchObject({
        type: 'idrelay.auth.risk.detected',
        data: { userId: 'alice', level: 'high', reasons: ['denied-verification'], causedBy: started.verificationId },
      });
      expect(written.map((e) => [e.type, (e.data as { reported?: boolean }).reported])).toEqual([
        ['idrelay.auth.verification.denied', true],
      ]);
      expect((await refusal(approve(browser, other))).code).toBe('ERR_ACTION_TOKEN_REVOKED');
    });

    it('a crash right after "deny and report" still alerts the security team once, after the restart', async () => {
      const tok = tokenOf('alice-iphone');
      s.reset();
      await s.relay.respond({
        token: tok,
        proof: await responseProof(iphone, tok, s.clock.now(), { decision: 'report' }),
      });
      // The process dies before anything after the decision's write ran: no ingest, no outgoing hand-off.
      await s.relay.close();
      const riskKey = eventKey({ source: '/idrelay/relay', id: `${started.verificationId}-risk` } as IdentityEvent);
      expect(await store.events.get(riskKey)).toBeUndefined();
      const restarted = await createScenario(store, { writeBacks: [] });
      try {
        restarted.clock.set(s.clock.now());
        await restarted.relay.drain();
        expect((await store.events.get(riskKey))?.event.type).toBe('idrelay.auth.risk.detected');
        const soc = restarted.received().filter((d) => d === 'erin-pixel' || d === 'frank-browser');
        // Each of them once for the reported denial and once for the risk it raised.
        expect(soc.sort()).toEqual(['erin-pixel', 'erin-pixel', 'frank-browser', 'frank-browser']);
        // Handed out once: a second drain finds nothing left.
        expect((await restarted.relay.drain()).outgoing).toBe(0);
      } finally {
        await restarted.relay.close();
      }
    });
  });
}
