import { isIdrelayError } from '@idrelay/core';
import { afterEach, expect, it } from 'vitest';
import { createApnsTransport } from '../src/index.js';
import { alert, device, fakeClock, KEY_ID, makeKeyPair, TEAM_ID, TOPIC, world } from './fixtures.js';

let w: Awaited<ReturnType<typeof world>> | undefined;
afterEach(() => w?.close());

const MINUTE = 60_000;
const iatOf = (authorization: string | undefined) =>
  JSON.parse(Buffer.from(authorization?.split('.')[1] ?? '', 'base64url').toString()).iat * 1000;

it('reuses one provider token on every connection, and re-signs it at 50 minutes', async () => {
  const clock = fakeClock();
  const start = clock.now();
  w = await world({ standIn: { clock }, transport: { clock, connections: 3 } });
  const batch = () => Array.from({ length: 30 }, () => device());

  await w.transport.send(alert(), batch());
  clock.advance(19 * MINUTE);
  await w.transport.send(alert(), batch());
  clock.advance(30 * MINUTE);
  await w.transport.send(alert(), batch());
  const beforeRefresh = new Set(w.standIn.requests.map((r) => r.headers.authorization));
  expect(beforeRefresh.size).toBe(1);
  expect(new Set(w.standIn.requests.map((r) => r.connection)).size).toBeGreaterThan(1);

  clock.advance(1 * MINUTE);
  await w.transport.send(alert(), batch());
  const after = w.standIn.requests.slice(-30);
  expect(new Set(after.map((r) => r.headers.authorization)).size).toBe(1);
  expect(iatOf(after[0]?.headers.authorization)).toBe(start + 50 * MINUTE);
  expect(w.standIn.requests.every((r) => r.status === 200)).toBe(true);
});

it('over three hours of traffic, refreshes only between 20 and 60 minutes apart and is never rejected', async () => {
  const clock = fakeClock();
  w = await world({ standIn: { clock }, transport: { clock } });
  for (let minute = 0; minute <= 180; minute += 3) {
    await w.transport.send(alert(), [device()]);
    clock.advance(3 * MINUTE);
  }
  const iats = [...new Set(w.standIn.requests.map((r) => iatOf(r.headers.authorization)))];
  const gaps = iats.slice(1).map((iat, i) => (iat - iats[i]!) / MINUTE);
  expect(gaps.length).toBeGreaterThanOrEqual(3);
  for (const gap of gaps) {
    expect(gap).toBeGreaterThanOrEqual(20);
    expect(gap).toBeLessThan(60);
  }
  expect(w.standIn.requests.map((r) => r.reason ?? 'ok')).toEqual(w.standIn.requests.map(() => 'ok'));
});

it('a connection opened late in a token’s life moves to the next token without TooManyProviderTokenUpdates', async () => {
  const clock = fakeClock();
  w = await world({ standIn: { clock }, transport: { clock, connections: 3 } });
  const burst = () => {
    const devices = Array.from({ length: 150 }, () => device());
    for (const d of devices) w?.standIn.script(d.token, { delayMs: 5 });
    return devices;
  };
  await w.transport.send(alert(), [device()]);
  clock.advance(45 * MINUTE);
  await w.transport.send(alert(), burst());
  clock.advance(5 * MINUTE);
  await w.transport.send(alert(), burst());
  const late = w.standIn.requests.slice(-150);
  expect(new Set(late.map((r) => r.connection)).size).toBeGreaterThan(1);
  expect(new Set(late.map((r) => r.headers.authorization)).size).toBe(1);
  expect(w.standIn.requests.filter((r) => r.status !== 200)).toEqual([]);
});

it('refuses a refresh interval outside 20–55 minutes', () => {
  const { privateKey } = makeKeyPair();
  const make = (tokenRefreshMs: number) => () =>
    createApnsTransport({
      signingKey: privateKey,
      teamId: TEAM_ID,
      keyId: KEY_ID,
      defaultTopic: TOPIC,
      tokenRefreshMs,
    });
  expect(make(10 * MINUTE)).toThrowError(expect.objectContaining({ code: 'ERR_TRANSPORT_CONFIG' }));
  expect(make(61 * MINUTE)).toThrowError(expect.objectContaining({ code: 'ERR_TRANSPORT_CONFIG' }));
});

it('refuses a signing key that is not P-256 with ERR_APNS_KEY_INVALID', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  for (const signingKey of [rsa, 'not a pem']) {
    let error: unknown;
    try {
      createApnsTransport({ signingKey, teamId: TEAM_ID, keyId: KEY_ID, defaultTopic: TOPIC });
    } catch (e) {
      error = e;
    }
    expect(isIdrelayError(error, 'ERR_APNS_KEY_INVALID')).toBe(true);
  }
});
