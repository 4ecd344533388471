/**
 * sendEach, expiry, the request timeout and retry ownership, on firebase-admin's default path (HTTP/2 `sendEach`)
 * redirected to the FCM stand-in.
 */
import type { DeviceTarget } from '@idrelay/core';
import { type FcmStandIn, type FirebaseRedirect, redirectFirebaseToStandIn, startFcmStandIn } from '@idrelay/testkit';
import { getApps } from 'firebase-admin/app';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFcmTransport, type FcmTransportOptions } from '../src/index.js';
import { approval, device, fakeSleep } from './fixtures.js';

let standIn: FcmStandIn;
let redirect: FirebaseRedirect;
const clock = fakeSleep();
const open: { close(): Promise<void> }[] = [];
const NOW = Date.UTC(2026, 10, 23, 12);

const transport = (over: Partial<FcmTransportOptions> = {}) => {
  const t = createFcmTransport({
    projectId: standIn.projectId,
    serviceAccount: standIn.serviceAccount,
    httpAgent: redirect.httpAgent,
    sleep: clock.sleep,
    random: () => 0.5,
    ...over,
  });
  open.push(t);
  return t;
};
const wire = (token: string) =>
  standIn.messages.find((m) => m.message.token === token)?.message as
    | Record<string, Record<string, unknown> & { headers?: Record<string, string> }>
    | undefined;

beforeAll(async () => {
  standIn = await startFcmStandIn({ projectId: 'idrelay-each' });
  redirect = redirectFirebaseToStandIn(standIn);
});
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  standIn.reset();
  clock.delays.length = 0;
});
afterAll(async () => {
  redirect.restore();
  await standIn.close();
});

describe('sendEach: personalised pushes', () => {
  it('batches distinct messages 500 to a sendEach call, each device getting its own text, results in order', {
    timeout: 30_000,
  }, async () => {
    const fcm = transport({ batchesInFlight: 2 });
    await fcm.send(approval(), [device('warm')]);
    const { getMessaging } = await import('firebase-admin/messaging');
    const messaging = getMessaging(getApps().find((a) => a.name.startsWith('idrelay-fcm-'))!);
    const real = messaging.sendEach.bind(messaging);
    const sizes: number[] = [];
    messaging.sendEach = (messages, dryRun) => {
      sizes.push(messages.length);
      return real(messages, dryRun);
    };
    const requests = Array.from({ length: 1100 }, (_, i) => ({
      message: approval({ title: `Hello user ${i}`, body: `Approve your sign-in, user ${i}?` }),
      target: device(`user-${i}`),
    }));
    requests.splice(3, 0, { message: approval(), target: { deviceId: 'ios-1', platform: 'apns', token: 'abc' } });

    const results = await fcm.sendEach(requests);

    expect(sizes).toEqual([500, 500, 100]);
    expect(results.map((r) => r.deviceId)).toEqual(requests.map((r) => r.target.deviceId));
    expect(results[3]).toMatchObject({ status: 'rejected', code: 'ERR_TRANSPORT_PLATFORM_MISMATCH' });
    expect(results.filter((r) => r.status === 'delivered')).toHaveLength(1100);
    for (const i of [0, 499, 1099]) {
      expect(wire(`user-${i}`)?.notification).toEqual({
        title: `Hello user ${i}`,
        body: `Approve your sign-in, user ${i}?`,
      });
    }
  });
});

describe('expiry', () => {
  it('gives FCM the remaining lifetime as Android ttl, apns-expiration and Web Push TTL', async () => {
    const fcm = transport({ clock: { now: () => NOW } });
    await fcm.sendEach([
      { message: approval({ ttlSeconds: 600 }), target: device('by-expiry'), expiresAt: NOW + 120_000 },
      { message: approval({ ttlSeconds: 60 }), target: device('by-ttl'), expiresAt: NOW + 3_600_000 },
    ]);
    const lifetime = (token: string) => {
      const message = wire(token);
      return [message?.android?.ttl, message?.apns?.headers?.['apns-expiration'], message?.webpush?.headers?.TTL];
    };
    expect(lifetime('by-expiry')).toEqual(['120s', String(NOW / 1000 + 120), '120']);
    expect(lifetime('by-ttl')).toEqual(['60s', String(NOW / 1000 + 60), '60']);
  });

  it('refuses an expired request with ERR_DELIVERY_EXPIRED; FCM never sees it', async () => {
    const fcm = transport({ clock: { now: () => NOW } });
    const results = await fcm.sendEach([
      { message: approval(), target: device('late'), expiresAt: NOW },
      { message: approval(), target: device('on-time'), expiresAt: NOW + 1000 },
    ]);
    expect(results.map((r) => (r.status === 'delivered' ? r.status : r.code))).toEqual([
      'ERR_DELIVERY_EXPIRED',
      'delivered',
    ]);
    expect(standIn.attempts('late')).toBe(0);
  });

  it('judges expiry again before a retry: a request that expires during the backoff is not sent again', async () => {
    let now = NOW;
    const fcm = transport({
      clock: { now: () => now },
      sleep: async (ms) => {
        now += ms;
      },
    });
    standIn.fail('busy', { kind: 'quota-exceeded', retryAfterSeconds: 2 }, { times: 1 });
    const [result] = await fcm.sendEach([{ message: approval(), target: device('busy'), expiresAt: NOW + 1500 }]);
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_DELIVERY_EXPIRED' });
    expect(standIn.attempts('busy')).toBe(1);
  });
});

describe('faults: retries and the request timeout', () => {
  it('retry: false sends a 503 once: firebase-admin’s own retries are off too', async () => {
    const fcm = transport({ retry: false });
    standIn.fail('down', { kind: 'unavailable', retryAfterSeconds: 1 });
    const [result] = await fcm.send(approval(), [device('down')]);
    expect(result).toMatchObject({
      status: 'retry-after',
      code: 'ERR_FCM_SERVICE_UNAVAILABLE',
      reason: expect.stringMatching(/^messaging\/server-unavailable: /),
      retryAfterMs: 1000,
    });
    expect(standIn.attempts('down')).toBe(1);
  });

  it('with retries on, a 503 is retried by our policy alone, after its Retry-After', async () => {
    const fcm = transport();
    standIn.fail('down-once', { kind: 'unavailable', retryAfterSeconds: 1 }, { times: 1 });
    const [result] = await fcm.send(approval(), [device('down-once')]);
    expect(result).toMatchObject({ status: 'delivered' });
    expect(standIn.attempts('down-once')).toBe(2);
    expect(clock.delays).toEqual([1000]);
  });

  it('a sendEach unanswered within timeoutMs gives its devices retry-after ERR_TRANSPORT_TIMEOUT', async () => {
    const fcm = transport({ timeoutMs: 300 });
    await fcm.send(approval(), [device('warm')]); // the OAuth token is fetched outside the timed call
    standIn.fail('hung', { kind: 'slow', delayMs: 60_000 });
    const targets: DeviceTarget[] = [device('hung')];
    const [result] = await fcm.send(approval(), targets);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' });
    expect(standIn.attempts('hung'), 'not retried inside: FCM may already have it').toBe(1);
    expect(await fcm.send(approval(), [device('after')])).toEqual([expect.objectContaining({ status: 'delivered' })]);
  });

  it('refuses a timeoutMs that is not positive', () => {
    expect(() => transport({ timeoutMs: 0 })).toThrowError(expect.objectContaining({ code: 'ERR_TRANSPORT_CONFIG' }));
  });
});
