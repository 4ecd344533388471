import { afterEach, describe, expect, it } from 'vitest';
import { alert, device, fakeClock, KEY_ID, makeKeyPair, TEAM_ID, TOPIC, world } from './fixtures.js';

let w: Awaited<ReturnType<typeof world>>;
afterEach(() => w.close());

describe('APNs answers become delivery results', () => {
  it('200 → delivered, with the apns-id APNs returned', async () => {
    w = await world();
    const d = device();
    const [result] = await w.transport.send(alert(), [d]);
    const [request] = w.standIn.requestsFor(d.token);
    expect(result).toEqual({ deviceId: d.deviceId, status: 'delivered', providerMessageId: request?.apnsId });
    expect(request?.apnsId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('410 Unregistered → invalid-token ERR_APNS_UNREGISTERED, APNs’ reason in reason', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { status: 410, reason: 'Unregistered', timestamp: Date.UTC(2026, 0, 2) });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toEqual({
      deviceId: d.deviceId,
      status: 'invalid-token',
      code: 'ERR_APNS_UNREGISTERED',
      reason: 'Unregistered',
    });
  });

  it('400 BadDeviceToken (a token that is not 64 hex characters) → invalid-token', async () => {
    w = await world();
    const d = device({ token: 'not-a-token' });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({
      status: 'invalid-token',
      code: 'ERR_APNS_BAD_DEVICE_TOKEN',
      reason: 'BadDeviceToken',
    });
    expect(w.standIn.requestsFor('not-a-token')).toHaveLength(1);
  });

  it('400 DeviceTokenNotForTopic → invalid-token', async () => {
    w = await world({ standIn: { topics: [TOPIC, 'com.example.other'] } });
    const d = device({ topic: 'com.example.other' });
    w.standIn.registerDevice(d.token, TOPIC);
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({
      status: 'invalid-token',
      code: 'ERR_APNS_BAD_DEVICE_TOKEN',
      reason: 'DeviceTokenNotForTopic',
    });
  });

  it('429 with Retry-After beyond the retry budget → retry-after at once, with retryAfterMs', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 30, times: Infinity });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toEqual({
      deviceId: d.deviceId,
      status: 'retry-after',
      code: 'ERR_APNS_RATE_LIMITED',
      reason: 'TooManyRequests',
      retryAfterMs: 30_000,
    });
    expect(w.standIn.requestsFor(d.token)).toHaveLength(1);
  });

  it.each([
    [500, 'InternalServerError'],
    [503, 'ServiceUnavailable'],
    [429, 'TooManyRequests'],
  ])('%i %s is retried within the budget, then delivered', async (status, reason) => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { status, reason });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'delivered' });
    expect(w.standIn.requestsFor(d.token).map((r) => r.status)).toEqual([status, 200]);
  });

  it('5xx on every attempt → retry-after once the attempts are spent', async () => {
    w = await world({ transport: { retry: { attempts: 3, baseDelayMs: 1 } } });
    const d = device();
    w.standIn.script(d.token, { status: 503, reason: 'Shutdown', times: Infinity });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_APNS_SERVICE_UNAVAILABLE', reason: 'Shutdown' });
    expect(w.standIn.requestsFor(d.token)).toHaveLength(3);
  });

  it('a malformed Retry-After ("-3") is ignored, not read as "retry now"', async () => {
    w = await world({ transport: { retry: { attempts: 1 } } });
    const d = device();
    w.standIn.script(d.token, { status: 429, reason: 'TooManyRequests', retryAfterSeconds: -3, times: Infinity });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_APNS_RATE_LIMITED', reason: 'TooManyRequests' });
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('a short Retry-After is honoured inside the budget', async () => {
    w = await world({ transport: { retry: { maxDelayMs: 5000, budgetMs: 5000 } } });
    const d = device();
    w.standIn.script(d.token, { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 0 });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result?.status).toBe('delivered');
  });

  it('403 InvalidProviderToken (a key APNs does not know) → rejected ERR_APNS_PROVIDER_TOKEN', async () => {
    w = await world({ transport: { signingKey: makeKeyPair().privateKey } });
    const [result] = await w.transport.send(alert(), [device()]);
    expect(result).toMatchObject({
      status: 'rejected',
      code: 'ERR_APNS_PROVIDER_TOKEN',
      reason: 'InvalidProviderToken',
    });
  });

  it('400 BadTopic → rejected', async () => {
    w = await world({ transport: { defaultTopic: 'com.example.unknown' } });
    const [result] = await w.transport.send(alert(), [device()]);
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_APNS_REJECTED', reason: 'BadTopic' });
  });

  it('any other reason → rejected ERR_APNS_REJECTED, the reason in reason', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { status: 400, reason: 'TopicDisallowed' });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_APNS_REJECTED', reason: 'TopicDisallowed' });
  });

  it('a device of another platform is rejected without a request', async () => {
    w = await world();
    const [result] = await w.transport.send(alert(), [{ deviceId: 'pixel', platform: 'fcm', token: 'x' }]);
    expect(result).toMatchObject({ deviceId: 'pixel', status: 'rejected', code: 'ERR_TRANSPORT_PLATFORM_MISMATCH' });
    expect(w.standIn.requests).toHaveLength(0);
  });
});

describe('limits enforced before sending', () => {
  it('refuses a payload over 4096 bytes with ERR_APNS_PAYLOAD_TOO_LARGE; one just under goes out', async () => {
    w = await world();
    const big = device();
    const fits = device();
    const [tooLarge] = await w.transport.send(alert({ body: 'é'.repeat(2100) }), [big]);
    expect(tooLarge).toMatchObject({ status: 'rejected', code: 'ERR_APNS_PAYLOAD_TOO_LARGE' });
    expect(w.standIn.requestsFor(big.token)).toHaveLength(0);
    const [ok] = await w.transport.send(alert({ body: 'x'.repeat(3900) }), [fits]);
    expect(ok?.status).toBe('delivered');
  });

  it('allows 5120 bytes for VoIP pushes', async () => {
    w = await world();
    const d = device();
    const voip = alert({ body: 'x'.repeat(4500), platform: { apns: { pushType: 'voip' } } });
    const [result] = await w.transport.send(voip, [d]);
    expect(result?.status).toBe('delivered');
    expect(w.standIn.requestsFor(d.token)[0]?.headers['apns-topic']).toBe(`${TOPIC}.voip`);
  });

  it('delivers a collapse id built from a 64-hex verification id, fitted to 64 bytes the same way every time', async () => {
    w = await world();
    const collapseId = `verification-${'f'.repeat(64)}`;
    const [a, b] = [device(), device()];
    const results = await w.transport.sendEach([
      { message: alert({ collapseId }), target: a },
      { message: alert({ collapseId, body: 'Second push of the same notification' }), target: b },
    ]);
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    const [first, second] = [a, b].map((d) => w.standIn.requestsFor(d.token)[0]?.headers['apns-collapse-id'] ?? '');
    expect(Buffer.byteLength(first!)).toBeLessThanOrEqual(64);
    expect(second).toBe(first);
  });
});

describe('ExpiredProviderToken', () => {
  it('re-signs the provider token and retries once, then delivers', async () => {
    const clock = fakeClock();
    w = await world({ standIn: { clock }, transport: { clock } });
    const warm = device();
    await w.transport.send(alert(), [warm]);
    clock.advance(25 * 60_000);
    const d = device();
    w.standIn.script(d.token, { status: 403, reason: 'ExpiredProviderToken' });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result?.status).toBe('delivered');
    const [first, second] = w.standIn.requestsFor(d.token);
    expect(first?.reason).toBe('ExpiredProviderToken');
    expect(second?.headers.authorization).not.toBe(first?.headers.authorization);
    expect(second?.status).toBe(200);
  });

  it('retries only once: a second ExpiredProviderToken is rejected', async () => {
    const clock = fakeClock();
    w = await world({ standIn: { clock, tokenUpdateIntervalMs: 0 }, transport: { clock } });
    await w.transport.send(alert(), [device()]);
    clock.advance(25 * 60_000);
    const d = device();
    w.standIn.script(d.token, { status: 403, reason: 'ExpiredProviderToken', times: 2 });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({
      status: 'rejected',
      code: 'ERR_APNS_PROVIDER_TOKEN',
      reason: 'ExpiredProviderToken',
    });
    expect(w.standIn.requestsFor(d.token)).toHaveLength(2);
  });

  it('does not re-sign a token younger than 20 minutes (that would earn TooManyProviderTokenUpdates)', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { status: 403, reason: 'ExpiredProviderToken' });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({
      status: 'rejected',
      code: 'ERR_APNS_PROVIDER_TOKEN',
      reason: 'ExpiredProviderToken',
    });
    expect(w.standIn.requestsFor(d.token)).toHaveLength(1);
  });

  it('many devices hit by one expiry share a single re-signed token', async () => {
    const clock = fakeClock();
    w = await world({ standIn: { clock }, transport: { clock } });
    await w.transport.send(alert(), [device()]);
    clock.advance(30 * 60_000);
    const devices = Array.from({ length: 20 }, () => device());
    for (const d of devices) w.standIn.script(d.token, { status: 403, reason: 'ExpiredProviderToken' });
    const results = await w.transport.send(alert(), devices);
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    const retried = new Set(devices.map((d) => w.standIn.requestsFor(d.token)[1]?.headers.authorization));
    expect(retried.size).toBe(1);
    expect(w.standIn.requests.some((r) => r.reason === 'TooManyProviderTokenUpdates')).toBe(false);
  });
});

it('uses the team and key ids it was given', async () => {
  w = await world();
  const d = device();
  await w.transport.send(alert(), [d]);
  const jwt = w.standIn.requestsFor(d.token)[0]?.headers.authorization?.replace(/^bearer /, '') ?? '';
  const [header, claims] = jwt
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  expect(header).toEqual({ alg: 'ES256', kid: KEY_ID });
  expect(claims).toMatchObject({ iss: TEAM_ID, iat: expect.any(Number) });
});
