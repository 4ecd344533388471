/** `POST /v1/verifications` and `GET /v1/verifications/{id}` beyond the happy path. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestGateway, makeDevice, type TestGateway } from './http-support.js';

let t: TestGateway;
beforeEach(async () => {
  // The HTTP bucket is wide here, so the engine's own push limit is what answers.
  t = await createTestGateway({ config: { limits: { verifications: { perMinute: 100, burst: 100 } } } });
});
afterEach(() => t.close());

const start = (body: unknown, key = t.keys.ingest) =>
  t.request('/v1/verifications', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('POST /v1/verifications', () => {
  it('takes an RFC 9493 subject instead of a user id', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const response = await start({ subject: { format: 'email', email: 'alice@example.com' }, application: 'Payroll' });
    expect(response.status).toBe(201);
    const { verificationId } = (await response.json()) as { verificationId: string };
    expect(await t.relay.verifications.get(verificationId)).toMatchObject({ userId: 'alice', status: 'pending' });
  });

  it('refuses a malformed request with ERR_VERIFICATION_INVALID naming the field, starting nothing', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const both = await start({ userId: 'alice', subject: { format: 'email', email: 'a@b.c' }, application: 'X' });
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ code: 'ERR_VERIFICATION_INVALID' });
    const ttl = await start({ userId: 'alice', application: 'X', ttlMs: 5_000 });
    expect(await ttl.json()).toMatchObject({
      code: 'ERR_VERIFICATION_INVALID',
      detail: expect.stringMatching(/^ttlMs: /),
    });
    await t.relay.drain();
    expect(t.sent()).toEqual([]);
  });

  it('answers 409 ERR_VERIFICATION_NO_DEVICE for a user without an enrolled device', async () => {
    const response = await start({ userId: 'bob', application: 'Payroll' });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ code: 'ERR_VERIFICATION_NO_DEVICE' });
  });

  it('passes the engine’s push limit through as 429 with Retry-After', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    for (let i = 0; i < 3; i++) expect((await start({ userId: 'alice', application: 'Payroll' })).status).toBe(201);
    const limited = await start({ userId: 'alice', application: 'Payroll' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({
      code: 'ERR_VERIFICATION_RATE_LIMITED',
      retryAfterMs: expect.any(Number),
    });
  });

  it('needs ingest or admin: a preview key is refused', async () => {
    expect((await start({ userId: 'alice', application: 'X' }, t.keys.preview)).status).toBe(403);
    expect((await start({ userId: 'alice', application: 'X' }, t.keys.admin)).status).not.toBe(403);
  });
});

describe('GET /v1/verifications/{id}', () => {
  it('answers 404 ERR_VERIFICATION_NOT_FOUND for an unknown id', async () => {
    const response = await t.request('/v1/verifications/v_unknown', {
      headers: { authorization: `Bearer ${t.keys.ingest}` },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'ERR_VERIFICATION_NOT_FOUND' });
  });

  it('reports an unanswered verification as expired once its time is up', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const { verificationId } = (await (await start({ userId: 'alice', application: 'Payroll' })).json()) as {
      verificationId: string;
    };
    t.clock.advance(121_000);
    await t.relay.drain();
    const state = await t.request(`/v1/verifications/${verificationId}`, {
      headers: { authorization: `Bearer ${t.keys.ingest}` },
    });
    expect(await state.json()).toMatchObject({ verificationId, status: 'expired' });
  });
});

describe('GET /v1/deliveries', () => {
  it('needs event, or source and id (400 ERR_HTTP_INVALID_REQUEST with issues)', async () => {
    const response = await t.request('/v1/deliveries?source=https%3A%2F%2Fiam.example.com', {
      headers: { authorization: `Bearer ${t.keys.admin}` },
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'ERR_HTTP_INVALID_REQUEST',
      issues: [expect.objectContaining({ message: 'expected event, or source and id' })],
    });
  });
});
