/**
 * The issue's bad-input list: each refusal is a coded RFC 9457 problem, stores nothing and sends nothing.
 */
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestGateway,
  deniedEvent,
  makeDevice,
  proof,
  type TestDevice,
  type TestGateway,
  WEBHOOK_SECRET,
} from './http-support.js';

let t: TestGateway;
let before: Awaited<ReturnType<TestGateway['counts']>>;

beforeEach(async () => {
  t = await createTestGateway();
  await t.enrol('alice', makeDevice('alice-pixel'));
  before = await t.counts();
});
afterEach(() => t.close());

/** The answer is a problem document with `code` and `status`; nothing was stored or sent because of it. */
async function expectRefused(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const body = (await response.json()) as Record<string, unknown>;
  expect({ status: response.status, code: body.code }).toEqual({ status, code });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expect(body).toMatchObject({ type: `urn:idrelay:error:${code}`, status, code });
  await t.relay.drain();
  expect(await t.counts()).toEqual(before);
  expect(t.sent()).toEqual([]);
  return body;
}

const post = (path: string, body: string | ReadableStream<Uint8Array>, headers: Record<string, string>) =>
  t.request(path, { method: 'POST', headers, body });
const ingest = (body: string | ReadableStream<Uint8Array>, type = 'application/json', key = t.keys.ingest) =>
  post('/v1/events', body, { authorization: `Bearer ${key}`, 'content-type': type });

describe('event ingest refusals', () => {
  it('malformed JSON → 400 ERR_HTTP_MALFORMED_JSON, without echoing the body', async () => {
    const body = await expectRefused(
      await ingest('{"specversion":"1.0", secret-value'),
      400,
      'ERR_HTTP_MALFORMED_JSON',
    );
    expect(JSON.stringify(body)).not.toContain('secret-value');
    const latin1 = new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]); // {"é":1} in ISO-8859-1
    const notUtf8 = await expectRefused(
      await t.request('/v1/events', {
        method: 'POST',
        headers: { authorization: `Bearer ${t.keys.ingest}`, 'content-type': 'application/json' },
        body: latin1,
      }),
      400,
      'ERR_HTTP_MALFORMED_JSON',
    );
    expect(notUtf8.detail).toContain('invalid UTF-8');
  });

  it('wrong content type → 415 ERR_HTTP_UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectRefused(
      await ingest(JSON.stringify(deniedEvent('ct-1')), 'text/plain'),
      415,
      'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    );
    await expectRefused(
      await ingest(JSON.stringify(deniedEvent('ct-2')), 'application/x-www-form-urlencoded'),
      415,
      'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('unknown event type → 400 ERR_EVENT_INVALID with an issue on `type`', async () => {
    const event = { ...deniedEvent('ty-1'), type: 'idrelay.teleport.requested' };
    const body = await expectRefused(await ingest(JSON.stringify(event)), 400, 'ERR_EVENT_INVALID');
    expect(body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'type' })]));
  });

  it('schema violation → 400 ERR_EVENT_INVALID naming the failing path', async () => {
    const event = deniedEvent('sv-1');
    const broken = { ...event, data: { ...event.data, requestId: 42 } };
    const body = await expectRefused(await ingest(JSON.stringify(broken)), 400, 'ERR_EVENT_INVALID');
    expect(body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'data.requestId' })]));
  });

  it('a batch with one invalid event is refused whole, naming its index', async () => {
    const bad = { ...deniedEvent('bt-2'), specversion: '0.3' };
    const body = await expectRefused(
      await ingest(JSON.stringify([deniedEvent('bt-1'), bad]), 'application/cloudevents-batch+json'),
      400,
      'ERR_EVENT_INVALID',
    );
    expect(body.index).toBe(1);
    expect(await t.store.events.get('https://iam.example.com#bt-1')).toBeUndefined();
  });

  it('oversized body → 413 ERR_HTTP_BODY_TOO_LARGE, by Content-Length or while streaming', async () => {
    const event = { ...deniedEvent('big-1'), data: { ...deniedEvent('big-1').data, pad: 'x'.repeat(1024 * 1024) } };
    await expectRefused(await ingest(JSON.stringify(event)), 413, 'ERR_HTTP_BODY_TOO_LARGE');
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await t.request('/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.ingest}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectRefused(streamed, 413, 'ERR_HTTP_BODY_TOO_LARGE');
    expect(sent).toBeLessThan(20);
  });

  it('a Content-Length that understates the body does not let it past the limit', async () => {
    // Over a socket the HTTP parser ends the body at its Content-Length; a Request built in process has no parser.
    const response = await post('/v1/devices/enrol', JSON.stringify({ pad: 'x'.repeat(17 * 1024) }), {
      'content-type': 'application/json',
      'content-length': '2',
    });
    await expectRefused(response, 413, 'ERR_HTTP_BODY_TOO_LARGE');
  });

  it('a device route takes 16 KiB at most', async () => {
    const response = await post('/v1/devices/enrol', JSON.stringify({ pad: 'x'.repeat(17 * 1024) }), {
      'content-type': 'application/json',
    });
    await expectRefused(response, 413, 'ERR_HTTP_BODY_TOO_LARGE');
  });

  it('deep nesting → 400 ERR_EVENT_INVALID (the engine’s depth bound)', async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 200; i++) deep = { d: deep };
    const event = { ...deniedEvent('deep-1'), data: { ...deniedEvent('deep-1').data, deep } };
    await expectRefused(await ingest(JSON.stringify(event)), 400, 'ERR_EVENT_INVALID');
    // As deep as 1 MiB allows: still a coded refusal, never a stack overflow.
    const depth = 400_000;
    const abyss = `{"specversion":"1.0","id":"deep-2","source":"https://iam.example.com","type":"idrelay.access.denied","data":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    await expectRefused(await ingest(abyss), 400, 'ERR_EVENT_INVALID');
  });

  it('an id reused with another payload → 409 ERR_EVENT_CONFLICT; the first one stands', async () => {
    expect((await ingest(JSON.stringify(deniedEvent('cf-1')))).status).toBe(202);
    await t.relay.drain();
    before = await t.counts();
    const sentBefore = t.sent().length;
    const other = deniedEvent('cf-1', 'another-request');
    const response = await ingest(JSON.stringify(other));
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe('ERR_EVENT_CONFLICT');
    await t.relay.drain();
    expect(await t.counts()).toEqual(before);
    expect(t.sent()).toHaveLength(sentBefore);
  });
});

describe('API keys', () => {
  it('missing → 401 ERR_AUTH_MISSING with WWW-Authenticate', async () => {
    const response = await post('/v1/events', JSON.stringify(deniedEvent('k-1')), {
      'content-type': 'application/json',
    });
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectRefused(response, 401, 'ERR_AUTH_MISSING');
  });

  it('wrong → 401 ERR_AUTH_INVALID', async () => {
    await expectRefused(
      await ingest(JSON.stringify(deniedEvent('k-2')), 'application/json', `idr_${'x'.repeat(43)}`),
      401,
      'ERR_AUTH_INVALID',
    );
    await expectRefused(
      await post('/v1/events', JSON.stringify(deniedEvent('k-3')), {
        authorization: 'Basic dXNlcjpwYXNz',
        'content-type': 'application/json',
      }),
      401,
      'ERR_AUTH_INVALID',
    );
  });

  it('a key without the scope → 403 ERR_AUTH_FORBIDDEN', async () => {
    await expectRefused(
      await ingest(JSON.stringify(deniedEvent('k-4')), 'application/json', t.keys.preview),
      403,
      'ERR_AUTH_FORBIDDEN',
    );
    await expectRefused(
      await post('/v1/enrolment-codes', JSON.stringify({ userId: 'alice' }), {
        authorization: `Bearer ${t.keys.ingest}`,
        'content-type': 'application/json',
      }),
      403,
      'ERR_AUTH_FORBIDDEN',
    );
    await expectRefused(
      await t.request('/v1/users/alice/devices', { headers: { authorization: `Bearer ${t.keys.ingest}` } }),
      403,
      'ERR_AUTH_FORBIDDEN',
    );
  });

  it('is checked before the body is read: no key, no 413 or 415 hint', async () => {
    const response = await post('/v1/events', 'x'.repeat(2 * 1024 * 1024), { 'content-type': 'text/plain' });
    await expectRefused(response, 401, 'ERR_AUTH_MISSING');
  });
});

describe('Standard Webhooks', () => {
  const webhook = new Webhook(WEBHOOK_SECRET);
  const signed = (id: string, body: string, at: number, signature?: string) =>
    post('/v1/events', body, {
      'content-type': 'application/cloudevents+json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at / 1000)),
      'webhook-signature': signature ?? webhook.sign(id, new Date(at), body),
    });

  it('accepts a signed event without an API key', async () => {
    const body = JSON.stringify(deniedEvent('wh-1'));
    const response = await signed('msg_1', body, t.clock.now());
    expect(response.status).toBe(202);
    expect(await t.store.events.get('https://iam.example.com#wh-1')).toBeDefined();
  });

  it('a bad signature → 401 ERR_WEBHOOK_SIGNATURE_INVALID', async () => {
    const body = JSON.stringify(deniedEvent('wh-2'));
    const other = new Webhook(`whsec_${Buffer.from('another secret of 32 bytes!!!!!!').toString('base64')}`);
    await expectRefused(
      await signed('msg_2', body, t.clock.now(), other.sign('msg_2', new Date(t.clock.now()), body)),
      401,
      'ERR_WEBHOOK_SIGNATURE_INVALID',
    );
    // The right signature over another body.
    const tampered = JSON.stringify(deniedEvent('wh-2b'));
    await expectRefused(
      await signed('msg_3', tampered, t.clock.now(), webhook.sign('msg_3', new Date(t.clock.now()), body)),
      401,
      'ERR_WEBHOOK_SIGNATURE_INVALID',
    );
  });

  it('a replayed webhook-id → 409 ERR_WEBHOOK_REPLAYED', async () => {
    const body = JSON.stringify(deniedEvent('wh-4'));
    expect((await signed('msg_4', body, t.clock.now())).status).toBe(202);
    await t.relay.drain();
    before = await t.counts();
    t.transports.fcm.sent.length = 0;
    await expectRefused(await signed('msg_4', body, t.clock.now()), 409, 'ERR_WEBHOOK_REPLAYED');
  });

  it('a sender’s retry after a failed request is not a replay', async () => {
    const broken = JSON.stringify({ ...deniedEvent('wh-5'), type: 'idrelay.teleport.requested' });
    expect((await signed('msg_5', broken, t.clock.now())).status).toBe(400);
    expect((await signed('msg_5', broken, t.clock.now())).status).toBe(400);
  });

  it('a timestamp outside the 5-minute window → 401 ERR_WEBHOOK_TIMESTAMP', async () => {
    const body = JSON.stringify(deniedEvent('wh-6'));
    await expectRefused(await signed('msg_6', body, t.clock.now() - 301_000), 401, 'ERR_WEBHOOK_TIMESTAMP');
    await expectRefused(await signed('msg_7', body, t.clock.now() + 301_000), 401, 'ERR_WEBHOOK_TIMESTAMP');
  });
});

describe('device responses', () => {
  let device: TestDevice;
  let tok: string;
  let code: string;
  let verificationId: string;

  beforeEach(async () => {
    await t.close();
    t = await createTestGateway();
    device = makeDevice('alice-pixel');
    await t.enrol('alice', device);
    const started = await t.request('/v1/verifications', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'alice', application: 'Payroll' }),
    });
    ({ code, verificationId } = (await started.json()) as { code: string; verificationId: string });
    await t.relay.drain();
    tok = t.sent()[0]?.target.data?.tok as string;
    expect(tok).toBeDefined();
  });

  const respond = async (token: string, signer: TestDevice, claims: { decision?: string; code?: string } = {}) =>
    t.request('/v1/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token,
        proof: await proof(signer, token, t.clock.now(), { method: 'POST', decision: 'approve', code, ...claims }),
      }),
    });
  /** The refusal's status and code, after checking the verification is still undecided. */
  async function problemOf(response: Response) {
    const body = (await response.json()) as { code: string };
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const state = await t.request(`/v1/verifications/${verificationId}`, {
      headers: { authorization: `Bearer ${t.keys.ingest}` },
    });
    expect(((await state.json()) as { status: string }).status).toMatch(/^(pending|expired)$/);
    return { status: response.status, code: body.code };
  }

  it('a forged token → 403 ERR_ACTION_TOKEN_UNKNOWN', async () => {
    const forged = `${tok.slice(0, -4)}AAAA`;
    expect(await problemOf(await respond(forged, device))).toEqual({ status: 403, code: 'ERR_ACTION_TOKEN_UNKNOWN' });
  });

  it('a replayed response → 409 ERR_ACTION_TOKEN_USED', async () => {
    const first = await respond(tok, device, { decision: 'deny' });
    expect(first.status).toBe(200);
    const again = await respond(tok, device, { decision: 'approve' });
    expect({ status: again.status, code: ((await again.json()) as { code: string }).code }).toEqual({
      status: 409,
      code: 'ERR_ACTION_TOKEN_USED',
    });
    expect(await t.relay.verifications.get(verificationId)).toMatchObject({ status: 'denied' });
  });

  it('an expired token → refused, and the verification is not approved', async () => {
    t.clock.advance(25 * 60 * 60_000);
    const refused = await problemOf(await respond(tok, device));
    expect(refused.code).toMatch(/^ERR_ACTION_TOKEN_(EXPIRED|REVOKED)$/);
    expect([409, 410]).toContain(refused.status);
  });

  it('a response signed by another device → 403, nothing applied', async () => {
    const other = makeDevice('alice-tablet');
    await t.enrol('alice', other, { platform: 'fcm', token: 'fcm-token-alice-tablet' });
    const impostor = { ...other, deviceId: device.deviceId };
    const refused = await problemOf(await respond(tok, impostor));
    expect(refused).toEqual({ status: 403, code: 'ERR_ACTION_SIGNER_MISMATCH' });
    const byOther = await problemOf(await respond(tok, other));
    expect(byOther).toEqual({ status: 403, code: 'ERR_ACTION_WRONG_DEVICE' });
    // The right device still can: nothing was consumed.
    expect((await respond(tok, device)).status).toBe(200);
  });

  it('malformed JSON and a wrong content type on /v1/actions', async () => {
    const malformed = await t.request('/v1/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token": ',
    });
    expect(await problemOf(malformed)).toEqual({ status: 400, code: 'ERR_HTTP_MALFORMED_JSON' });
    const wrongType = await t.request('/v1/actions', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ token: tok, proof: 'x' }),
    });
    expect(await problemOf(wrongType)).toEqual({ status: 415, code: 'ERR_HTTP_UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('enrolment codes', () => {
  const enrolWith = (code: string, device: TestDevice) =>
    post(
      '/v1/devices/enrol',
      JSON.stringify({
        code,
        deviceId: device.deviceId,
        platform: 'fcm',
        token: `fcm-token-${device.deviceId}`,
        publicKey: device.publicJwk,
        algorithm: 'ES256',
      }),
      { 'content-type': 'application/json' },
    );
  const issue = async (ttlMs?: number) => {
    const response = await post('/v1/enrolment-codes', JSON.stringify({ userId: 'bob', ttlMs }), {
      authorization: `Bearer ${t.keys.admin}`,
      'content-type': 'application/json',
    });
    return ((await response.json()) as { code: string }).code;
  };

  it('a used code → 401 ERR_ENROL_CODE_INVALID', async () => {
    const code = await issue();
    expect((await enrolWith(code, makeDevice('bob-pixel'))).status).toBe(201);
    before = await t.counts();
    await expectRefused(await enrolWith(code, makeDevice('bob-tablet')), 401, 'ERR_ENROL_CODE_INVALID');
  });

  it('an expired code → 401 ERR_ENROL_CODE_INVALID', async () => {
    const code = await issue(60_000);
    t.clock.advance(61_000);
    await expectRefused(await enrolWith(code, makeDevice('bob-pixel')), 401, 'ERR_ENROL_CODE_INVALID');
  });

  it('a malformed enrolment → 400 ERR_ENROL_INVALID naming the field', async () => {
    const body = await expectRefused(
      await post('/v1/devices/enrol', JSON.stringify({ code: 'c', deviceId: 'x', platform: 'fcm' }), {
        'content-type': 'application/json',
      }),
      400,
      'ERR_ENROL_INVALID',
    );
    expect(body.detail).toMatch(/^(token|publicKey|algorithm): /);
  });
});

describe('routing', () => {
  it('an unknown route → 404 problem', async () => {
    await expectRefused(await t.request('/v1/nothing-here'), 404, 'ERR_HTTP_NOT_FOUND');
  });

  it('a wrong method → 405 with Allow', async () => {
    const response = await t.request('/v1/events', { method: 'GET' });
    expect(response.headers.get('allow')).toBe('POST');
    await expectRefused(response, 405, 'ERR_HTTP_METHOD_NOT_ALLOWED');
    const device = await t.request('/v1/devices/alice-pixel', { method: 'PUT' });
    expect(device.headers.get('allow')).toBe('PATCH, DELETE');
  });

  it('a path parameter longer than 512 characters → 400', async () => {
    await expectRefused(
      await t.request(`/v1/flows/${'f'.repeat(600)}`, { headers: { authorization: `Bearer ${t.keys.admin}` } }),
      400,
      'ERR_HTTP_INVALID_REQUEST',
    );
  });
});
