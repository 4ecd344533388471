import { createHmac } from 'node:crypto';
import { eventSubject } from '@idrelay/core/events';
import { CompactSign } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSsfPushReceiver, SSF_EVENT_TYPES, type SsfPushReceiverOptions, type SsfSignal } from '../src/index.js';
import { AUDIENCE, createTestTransmitter, ISSUER, push, T0 } from './transmitter.js';

const DISABLED = { [SSF_EVENT_TYPES.riscAccountDisabled]: { reason: 'hijacking' } };
let tx: Awaited<ReturnType<typeof createTestTransmitter>>;

beforeAll(async () => {
  tx = await createTestTransmitter();
});

function receiver(overrides: Partial<SsfPushReceiverOptions> = {}) {
  const signals: SsfSignal[] = [];
  let clock = T0;
  const receive = createSsfPushReceiver({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: tx.jwks,
    authorization: 'Bearer push-secret',
    now: () => clock,
    onSignal: (signal) => {
      signals.push(signal);
    },
    ...overrides,
  });
  return { receive, signals, advance: (ms: number) => (clock += ms) };
}

async function expectRejected(response: Response, status: number, err: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await response.json()) as { err: string; description: string };
  expect(body.err).toBe(err);
  expect(body.description.length).toBeGreaterThan(0);
  return body;
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('createSsfPushReceiver (RFC 8935)', () => {
  it('answers 202 with an empty body and hands over the SET mapped to an identity event', async () => {
    const { receive, signals } = receiver();
    const set = await tx.sign(DISABLED, { jti: 'set-1', txn: 'txn-9' });
    const response = await receive(push(set));
    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
    expect(signals).toHaveLength(1);
    const [signal] = signals as [SsfSignal];
    expect(signal).toMatchObject({ jti: 'set-1', issuer: ISSUER, txn: 'txn-9', mapping: 'mapped' });
    expect(signal.event).toMatchObject({
      type: 'idrelay.account.disabled',
      id: 'set-1',
      source: ISSUER,
      data: { userId: 'alice@example.com', reason: 'hijacking' },
    });
    expect(eventSubject(signal.event!)).toEqual({ format: 'email', email: 'alice@example.com' });
  });

  it('accepts an ES256 transmitter and an audience array naming this receiver', async () => {
    const es = await createTestTransmitter({ alg: 'ES256' });
    const { receive, signals } = receiver({ keys: es.jwks });
    const response = await receive(push(await es.sign(DISABLED, { aud: ['https://other.example', AUDIENCE] })));
    expect(response.status).toBe(202);
    expect(signals).toHaveLength(1);
  });

  it('records an unknown event type instead of dropping it', async () => {
    const { receive, signals } = receiver();
    const type = 'https://vendor.example/secevent/event-type/badge-lost';
    const response = await receive(push(await tx.sign({ [type]: { badge: 7 } })));
    expect(response.status).toBe(202);
    expect(signals[0]).toMatchObject({ eventType: type, mapping: 'unknown', payload: { badge: 7 }, event: undefined });
  });

  it('passes a stream verification event through as a stream signal without a subject', async () => {
    const { receive, signals } = receiver();
    const set = await tx.sign({ [SSF_EVENT_TYPES.ssfVerification]: { state: 'abc' } }, { sub_id: undefined });
    expect((await receive(push(set))).status).toBe(202);
    expect(signals[0]).toMatchObject({ mapping: 'stream', subject: undefined, payload: { state: 'abc' } });
  });

  describe('rejects, with the RFC 8935 error code, and hands nothing over', () => {
    it('a wrong audience (invalid_audience)', async () => {
      const { receive, signals } = receiver();
      await expectRejected(
        await receive(push(await tx.sign(DISABLED, { aud: 'https://evil.example' }))),
        400,
        'invalid_audience',
      );
      expect(signals).toHaveLength(0);
    });

    it('a wrong issuer (invalid_issuer)', async () => {
      const { receive, signals } = receiver();
      await expectRejected(
        await receive(push(await tx.sign(DISABLED, { iss: 'https://evil.example' }))),
        400,
        'invalid_issuer',
      );
      expect(signals).toHaveLength(0);
    });

    it('a wrong typ header (invalid_request)', async () => {
      const { receive } = receiver();
      await expectRejected(await receive(push(await tx.sign(DISABLED, {}, { typ: 'JWT' }))), 400, 'invalid_request');
    });

    it('an unsigned SET, alg none (invalid_request or invalid_key, never accepted)', async () => {
      const { receive, signals } = receiver();
      const payload = {
        iss: ISSUER,
        aud: AUDIENCE,
        jti: 'x',
        iat: T0 / 1000,
        sub_id: { format: 'opaque', id: 'u' },
        events: DISABLED,
      };
      const unsigned = `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(payload)}.`;
      const response = await receive(push(unsigned));
      expect(response.status).toBe(400);
      expect(['invalid_request', 'invalid_key']).toContain(((await response.json()) as { err: string }).err);
      expect(signals).toHaveLength(0);
    });

    it('an HS256 SET keyed with the public key (invalid_key)', async () => {
      const { receive, signals } = receiver();
      const header = b64({ alg: 'HS256', typ: 'secevent+jwt', kid: tx.kid });
      const payload = b64({
        iss: ISSUER,
        aud: AUDIENCE,
        jti: 'h',
        iat: T0 / 1000,
        sub_id: { format: 'opaque', id: 'u' },
        events: DISABLED,
      });
      const mac = createHmac('sha256', JSON.stringify(tx.jwk)).update(`${header}.${payload}`).digest('base64url');
      await expectRejected(await receive(push(`${header}.${payload}.${mac}`)), 400, 'invalid_key');
      expect(signals).toHaveLength(0);
    });

    it('a SET signed by another key under the same kid (invalid_key)', async () => {
      const { receive } = receiver();
      const forger = await createTestTransmitter({ kid: tx.kid });
      await expectRejected(await receive(push(await forger.sign(DISABLED))), 400, 'invalid_key');
    });

    it('a replayed jti (invalid_request), while a new jti still passes', async () => {
      const { receive, signals } = receiver();
      const set = await tx.sign(DISABLED, { jti: 'once' });
      expect((await receive(push(set))).status).toBe(202);
      const body = await expectRejected(await receive(push(set)), 400, 'invalid_request');
      expect(body.description).toMatch(/already received/);
      expect((await receive(push(await tx.sign(DISABLED, { jti: 'twice' })))).status).toBe(202);
      expect(signals.map((s) => s.jti)).toEqual(['once', 'twice']);
    });

    it('a replay after the window has passed, by its stale iat', async () => {
      const { receive, advance } = receiver({ maxIatSkewSeconds: 60 });
      const set = await tx.sign(DISABLED);
      expect((await receive(push(set))).status).toBe(202);
      advance(61_000);
      await expectRejected(await receive(push(set)), 400, 'invalid_request');
    });

    it('an iat too far in the past or the future (expired or pre-dated)', async () => {
      const { receive } = receiver();
      const iat = T0 / 1000;
      await expectRejected(await receive(push(await tx.sign(DISABLED, { iat: iat - 301 }))), 400, 'invalid_request');
      await expectRejected(await receive(push(await tx.sign(DISABLED, { iat: iat + 301 }))), 400, 'invalid_request');
      expect((await receive(push(await tx.sign(DISABLED, { iat: iat - 299 })))).status).toBe(202);
    });

    it('an exp or sub claim, which the SSF SET profile forbids', async () => {
      const { receive } = receiver();
      const exp = Math.floor(T0 / 1000) + 3600;
      await expectRejected(await receive(push(await tx.sign(DISABLED, { exp }))), 400, 'invalid_request');
      await expectRejected(await receive(push(await tx.sign(DISABLED, { sub: 'alice' }))), 400, 'invalid_request');
    });

    it('a SET with two events, or none', async () => {
      const { receive } = receiver();
      const two = { ...DISABLED, [SSF_EVENT_TYPES.riscAccountPurged]: {} };
      await expectRejected(await receive(push(await tx.sign(two))), 400, 'invalid_request');
      await expectRejected(await receive(push(await tx.sign({}))), 400, 'invalid_request');
    });

    it('a mapped event without a readable subject', async () => {
      const { receive } = receiver();
      await expectRejected(await receive(push(await tx.sign(DISABLED, { sub_id: undefined }))), 400, 'invalid_request');
      const bad = { format: 'email', email: 'not an address' };
      await expectRejected(await receive(push(await tx.sign(DISABLED, { sub_id: bad }))), 400, 'invalid_request');
    });

    it('an oversized body, declared or streamed', async () => {
      const { receive } = receiver({ maxBytes: 2048 });
      const big = await tx.sign(DISABLED, { padding: 'x'.repeat(4096) });
      await expectRejected(await receive(push(big)), 400, 'invalid_request');
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(512).fill(65));
          controller.close();
        },
      });
      const streamed = new Request(AUDIENCE, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', authorization: 'Bearer push-secret' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const body = await expectRejected(await receive(streamed), 400, 'invalid_request');
      expect(body.description).toMatch(/exceeds 2048 bytes/);
    });

    it('malformed JSON inside a signed JWS, and a body that is not a JWS at all', async () => {
      const { receive, signals } = receiver();
      const broken = new TextEncoder().encode('{"iss": "https://tx.example.test", "events": {');
      const signed = await new CompactSign(broken)
        .setProtectedHeader({ alg: 'RS256', typ: 'secevent+jwt', kid: tx.kid })
        .sign(tx.privateKey);
      await expectRejected(await receive(push(signed)), 400, 'invalid_request');
      await expectRejected(await receive(push('{"events": {}}')), 400, 'invalid_request');
      await expectRejected(await receive(push(new Uint8Array([0xff, 0xfe, 0x00]))), 400, 'invalid_request');
      expect(signals).toHaveLength(0);
    });

    it('a wrong Content-Type (invalid_request)', async () => {
      const { receive } = receiver();
      const set = await tx.sign(DISABLED);
      await expectRejected(await receive(push(set, { 'content-type': 'application/json' })), 400, 'invalid_request');
    });

    it('a missing or wrong Authorization header (401 authentication_failed)', async () => {
      const { receive, signals } = receiver();
      const set = await tx.sign(DISABLED);
      await expectRejected(await receive(push(set, { authorization: 'Bearer guess' })), 401, 'authentication_failed');
      const anonymous = new Request(AUDIENCE, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt' },
        body: set,
      });
      await expectRejected(await receive(anonymous), 401, 'authentication_failed');
      expect(signals).toHaveLength(0);
    });

    it('another method than POST (405 with Allow)', async () => {
      const { receive } = receiver();
      const response = await receive(new Request(AUDIENCE));
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
    });
  });

  it('answers 500 when onSignal fails, and accepts the transmitter’s retry of the same SET', async () => {
    let fail = true;
    const taken: string[] = [];
    const { receive } = receiver({
      onSignal: (signal) => {
        if (fail) throw new Error('store down');
        taken.push(signal.jti);
      },
    });
    const set = await tx.sign(DISABLED, { jti: 'retry-me' });
    expect((await receive(push(set))).status).toBe(500);
    fail = false;
    expect((await receive(push(set))).status).toBe(202);
    expect(taken).toEqual(['retry-me']);
  });

  it('takes a custom authorization function and refuses symmetric algorithms at construction', async () => {
    const { receive } = receiver({ authorization: (request) => request.headers.get('x-stream') === 's1' });
    const set = await tx.sign(DISABLED);
    expect((await receive(push(set, { 'x-stream': 's1' }))).status).toBe(202);
    expect(() => receiver({ algorithms: ['RS256', 'HS256'] })).toThrow(/asymmetric/);
    expect(() => receiver({ authorization: undefined as never })).toThrow(TypeError);
  });

  it('picks the signing key by kid from a JWKS holding a rotated key too', async () => {
    const rotated = await createTestTransmitter();
    const { receive } = receiver({ keys: { keys: [tx.jwk, rotated.jwk] } });
    expect((await receive(push(await rotated.sign(DISABLED)))).status).toBe(202);
    expect((await receive(push(await tx.sign(DISABLED)))).status).toBe(202);
  });
});
