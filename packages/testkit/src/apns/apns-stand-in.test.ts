import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { type ClientHttp2Session, connect } from 'node:http2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startApnsStandIn } from './apns-stand-in.js';
import type { ApnsStandIn, ApnsStandInOptions } from './stand-in-types.js';

const TEAM = 'DEF123GHIJ';
const KID = 'ABC123DEFG';
const TOPIC = 'com.example.app';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const token = () => randomBytes(32).toString('hex');

function jwt(claims: { iss?: string; iat: number }, options: { kid?: string; key?: KeyObject } = {}): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${part({ alg: 'ES256', kid: options.kid ?? KID })}.${part({ iss: TEAM, ...claims })}`;
  const signature = sign('sha256', Buffer.from(input), { key: options.key ?? privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

// A client signs once and reuses the token, as APNs expects; a new `iat` makes a new token.
const tokens = new Map<number, string>();
const currentJwt = (iat: number) => tokens.get(iat) ?? tokens.set(iat, jwt({ iat })).get(iat)!;

let standIn: ApnsStandIn;
const sessions: ClientHttp2Session[] = [];
let now = Date.UTC(2026, 10, 23, 12);
const clock = { now: () => now };

async function start(options: Partial<ApnsStandInOptions> = {}) {
  standIn = await startApnsStandIn({ publicKey, teamId: TEAM, keyId: KID, topics: [TOPIC], clock, ...options });
  return standIn;
}
function open(): ClientHttp2Session {
  const session = connect(standIn.origin, { ca: standIn.ca });
  session.on('error', () => {});
  sessions.push(session);
  return session;
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Record<string, unknown> | undefined;
}
function post(
  session: ClientHttp2Session,
  device: string,
  headers: Record<string, string> = {},
  payload: string = '{"aps":{"alert":"hi"}}',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': `/3/device/${device}`,
      authorization: `bearer ${currentJwt(Math.floor(now / 1000))}`,
      'apns-topic': TOPIC,
      ...headers,
    });
    let text = '';
    let head: Record<string, unknown> = {};
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.on('end', () => {
      if (head[':status'] === undefined) reject(new Error('stream ended without a response'));
      else resolve({ status: Number(head[':status']), headers: head, body: text ? JSON.parse(text) : undefined });
    });
    stream.on('close', () => reject(new Error(`stream closed (${stream.rstCode})`)));
    stream.on('error', reject);
    stream.end(payload);
  });
}

afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await standIn.close();
  now = Date.UTC(2026, 10, 23, 12);
});

describe('startApnsStandIn', () => {
  it('accepts a good request, echoes apns-id, and records headers and the parsed payload', async () => {
    await start();
    const device = token();
    const id = '8d4c5b2e-3f1a-4c6b-9a7e-0b1c2d3e4f50';
    const answer = await post(open(), device, { 'apns-id': id, 'apns-push-type': 'alert', 'apns-priority': '10' });
    expect(answer).toMatchObject({ status: 200, headers: { 'apns-id': id }, body: undefined });
    const [request] = standIn.requestsFor(device);
    expect(request).toMatchObject({ token: device, status: 200, apnsId: id, payload: { aps: { alert: 'hi' } } });
    expect(request?.headers['apns-topic']).toBe(TOPIC);
  });

  it('generates a UUID apns-id when the request has none, and announces at least 100 streams', async () => {
    await start();
    const session = open();
    const answer = await post(session, token());
    expect(answer.headers['apns-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(session.remoteSettings.maxConcurrentStreams).toBeGreaterThanOrEqual(100);
  });

  describe('provider token', () => {
    it.each([
      ['missing', {}, 'MissingProviderToken'],
      ['not a bearer token', { authorization: 'basic abc' }, 'InvalidProviderToken'],
      ['garbage', { authorization: 'bearer a.b.c' }, 'InvalidProviderToken'],
      [
        'another kid',
        { authorization: `bearer ${jwt({ iat: 1_795_000_000 }, { kid: 'OTHERKEY12' })}` },
        'InvalidProviderToken',
      ],
      [
        'another team',
        { authorization: `bearer ${jwt({ iss: 'OTHERTEAM1', iat: 1_795_000_000 })}` },
        'InvalidProviderToken',
      ],
      [
        'another key',
        {
          authorization: `bearer ${jwt({ iat: 1_795_000_000 }, { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey })}`,
        },
        'InvalidProviderToken',
      ],
    ])('%s → 403 %s', async (_, headers, reason) => {
      await start();
      const session = open();
      const answer = await new Promise<Answer>((resolve, reject) => {
        const stream = session.request({
          ':method': 'POST',
          ':path': `/3/device/${token()}`,
          'apns-topic': TOPIC,
          ...headers,
        });
        let text = '';
        stream.on('response', (h) =>
          stream.on('end', () => resolve({ status: Number(h[':status']), headers: h, body: JSON.parse(text) })),
        );
        stream.on('data', (c) => {
          text += c;
        });
        stream.on('error', reject);
        stream.end('{"aps":{}}');
      });
      expect(answer).toMatchObject({ status: 403, body: { reason } });
    });

    it('older than an hour → 403 ExpiredProviderToken', async () => {
      await start();
      const answer = await post(open(), token(), {
        authorization: `bearer ${jwt({ iat: Math.floor(now / 1000) - 3601 })}`,
      });
      expect(answer).toMatchObject({ status: 403, body: { reason: 'ExpiredProviderToken' } });
    });

    it('a token changed within 20 minutes on one connection → 429 TooManyProviderTokenUpdates; other connections are free', async () => {
      await start();
      const session = open();
      await post(session, token());
      now += 5 * 60_000;
      const again = await post(session, token());
      expect(again).toMatchObject({ status: 429, body: { reason: 'TooManyProviderTokenUpdates' } });
      expect((await post(open(), token())).status).toBe(200);
      now += 20 * 60_000;
      expect((await post(session, token())).status).toBe(200);
    });

    it('the update interval is configurable (0 turns the rule off)', async () => {
      await start({ tokenUpdateIntervalMs: 0 });
      const session = open();
      await post(session, token());
      now += 1000;
      expect((await post(session, token())).status).toBe(200);
    });
  });

  describe('request checks', () => {
    it.each([
      ['no topic', { 'apns-topic': '' }, undefined, 400, 'MissingTopic'],
      ['a foreign topic', { 'apns-topic': 'com.other.app' }, undefined, 400, 'BadTopic'],
      ['an unknown push type', { 'apns-push-type': 'fax' }, undefined, 400, 'InvalidPushType'],
      ['priority 7', { 'apns-priority': '7' }, undefined, 400, 'BadPriority'],
      [
        'a background push at priority 10',
        { 'apns-push-type': 'background', 'apns-priority': '10' },
        undefined,
        400,
        'BadPriority',
      ],
      ['a non-numeric expiration', { 'apns-expiration': 'tomorrow' }, undefined, 400, 'BadExpirationDate'],
      ['a malformed apns-id', { 'apns-id': 'not-a-uuid' }, undefined, 400, 'BadMessageId'],
      ['a 65-byte collapse id', { 'apns-collapse-id': 'c'.repeat(65) }, undefined, 400, 'BadCollapseId'],
      ['an empty payload', {}, '', 400, 'PayloadEmpty'],
      ['a 4097-byte payload', {}, `{"a":"${'x'.repeat(4089)}"}`, 413, 'PayloadTooLarge'],
    ])('%s → %i %s', async (_, headers, payload, status, reason) => {
      await start();
      const answer = await post(open(), token(), headers as Record<string, string>, payload);
      expect(answer).toMatchObject({ status, body: { reason } });
    });

    it('accepts 5120 bytes for voip, on the .voip topic', async () => {
      await start();
      const payload = `{"a":"${'x'.repeat(5112)}"}`;
      const answer = await post(open(), token(), { 'apns-push-type': 'voip', 'apns-topic': `${TOPIC}.voip` }, payload);
      expect(answer.status).toBe(200);
    });

    it('a token that is not 64 hex characters → 400 BadDeviceToken', async () => {
      await start();
      expect((await post(open(), 'abc123')).body).toEqual({ reason: 'BadDeviceToken' });
    });

    it('a device registered for another topic → 400 DeviceTokenNotForTopic', async () => {
      await start({ topics: [TOPIC, 'com.example.other'] });
      const device = token();
      standIn.registerDevice(device, 'com.example.other');
      expect((await post(open(), device)).body).toEqual({ reason: 'DeviceTokenNotForTopic' });
    });
  });

  describe('scripts', () => {
    it('answers scripted statuses in order, then normally', async () => {
      await start();
      const device = token();
      standIn.script(
        device,
        { status: 410, reason: 'Unregistered', timestamp: 1_700_000_000_000 },
        { status: 429, reason: 'TooManyRequests', retryAfterSeconds: 7, times: 2 },
      );
      const session = open();
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await post(session, device));
      expect(answers[0]).toMatchObject({ status: 410, body: { reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
      expect(answers[1]).toMatchObject({
        status: 429,
        headers: { 'retry-after': '7' },
        body: { reason: 'TooManyRequests' },
      });
      expect(answers[2]?.status).toBe(429);
      expect(answers[3]?.status).toBe(200);
    });

    it('a 410 without a timestamp gets the stand-in clock’s', async () => {
      await start();
      const device = token();
      standIn.script(device, { status: 410, reason: 'Unregistered' });
      expect((await post(open(), device)).body).toEqual({ reason: 'Unregistered', timestamp: now });
    });

    it('a reset fails only that stream; a drop closes the connection', async () => {
      await start();
      const [a, b] = [token(), token()];
      standIn.script(a, { fault: 'reset' });
      standIn.script(b, { fault: 'drop' });
      const session = open();
      await expect(post(session, a)).rejects.toThrow();
      expect((await post(session, token())).status).toBe(200);
      await expect(post(session, b)).rejects.toThrow();
      await vi.waitFor(() => expect(standIn.openSessions()).toBe(0), { interval: 2 });
    });

    it('counts open sessions and streams, and close() frees everything', async () => {
      await start();
      const slow = token();
      standIn.script(slow, { fault: 'hang' });
      const first = open();
      open();
      await post(first, token());
      const hanging = post(first, slow).catch((e: unknown) => e);
      await vi.waitFor(() => expect(standIn.stats().activeStreams).toBe(1), { interval: 2 });
      await vi.waitFor(() => expect(standIn.openSessions()).toBe(2), { interval: 2 });
      await standIn.close();
      expect(await hanging).toBeInstanceOf(Error);
      expect(standIn.openSessions()).toBe(0);
      standIn = await start();
    });
  });

  it('405 for another method, 404 for another path', async () => {
    await start();
    const session = open();
    const call = (method: string, path: string) =>
      new Promise<number>((resolve) => {
        const stream = session.request({ ':method': method, ':path': path });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.resume();
        stream.end();
      });
    expect(await call('GET', `/3/device/${token()}`)).toBe(405);
    expect(await call('POST', '/2/device/x')).toBe(404);
  });
});
