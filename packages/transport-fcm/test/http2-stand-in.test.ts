/**
 * firebase-admin's default path — OAuth over HTTP/1.1, `sendEach` over HTTP/2 — redirected to the FCM stand-in
 * (TLS verified against its certificate, `:scheme` normalised by the testkit redirect).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError } from '@idrelay/core';
import { type FcmStandIn, type FirebaseRedirect, redirectFirebaseToStandIn, startFcmStandIn } from '@idrelay/testkit';
import { getApps } from 'firebase-admin/app';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFcmTransport, type FcmTransportOptions } from '../src/index.js';
import { approval, device, fakeSleep } from './fixtures.js';

let standIn: FcmStandIn;
let redirect: FirebaseRedirect;
const clock = fakeSleep();
const open: { close(): Promise<void> }[] = [];

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

beforeAll(async () => {
  standIn = await startFcmStandIn({ projectId: 'idrelay-h2' });
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

describe('FCM transport over HTTP/2 (firebase-admin default path → stand-in)', () => {
  it('loads firebase-admin lazily, sends over HTTP/2 and deletes its named app on close', async () => {
    const fcm = transport();
    const before = getApps().length;
    const [result] = await fcm.send(approval(), [device('tok-1')]);

    expect(result).toMatchObject({
      status: 'delivered',
      providerMessageId: expect.stringMatching(/^projects\/idrelay-h2\//),
    });
    expect(standIn.requestsByProtocol.h2).toBe(1);
    expect(getApps().length).toBe(before + 1);
    await fcm.close();
    expect(getApps().length).toBe(before);
  });

  it('maps the wire message: android priority/channel/TTL, apns and webpush headers, template overrides last', async () => {
    const fcm = transport();
    await fcm.send(
      approval({
        urgency: 'normal',
        threadId: 'access',
        badge: 3,
        platform: { fcm: { channelId: 'security', android: { restrictedPackageName: 'com.example.app' } } },
      }),
      [device('tok-2')],
    );
    expect(standIn.messages[0]?.message).toMatchObject({
      android: {
        priority: 'normal',
        ttl: '300s',
        collapse_key: 'req-42',
        restricted_package_name: 'com.example.app',
        notification: { channel_id: 'security', tag: 'access' },
      },
      apns: { payload: { aps: { badge: 3, 'thread-id': 'access' } } },
      webpush: { headers: { Urgency: 'normal', TTL: '300' } },
    });
  });

  it('answers a mixed batch in order, retrying only what is retryable', async () => {
    standIn.fail('gone', { kind: 'unregistered' });
    standIn.fail('busy', { kind: 'quota-exceeded', retryAfterSeconds: 30 });
    standIn.fail('flaky', { kind: 'reset' }, { times: 1 });
    standIn.fail('odd', { kind: 'sender-id-mismatch' });
    const fcm = transport();
    const results = await fcm.send(
      approval(),
      ['ok', 'gone', 'busy', 'flaky', 'odd'].map((t) => device(t)),
    );

    const summary = (r: (typeof results)[number]) =>
      r.status === 'delivered' ? [r.deviceId, r.status] : [r.deviceId, r.status, r.code, r.reason?.split(':')[0]];
    expect(results.map(summary)).toEqual([
      ['dev-ok', 'delivered'],
      ['dev-gone', 'invalid-token', 'ERR_FCM_INVALID_TOKEN', 'messaging/registration-token-not-registered'],
      ['dev-busy', 'retry-after', 'ERR_FCM_RATE_LIMITED', 'messaging/message-rate-exceeded'],
      ['dev-flaky', 'delivered'],
      ['dev-odd', 'rejected', 'ERR_FCM_REJECTED', 'messaging/mismatched-credential'],
    ]);
    expect(results[2]).toMatchObject({ retryAfterMs: 30_000 });
    expect(standIn.attempts('flaky'), 'an RST_STREAM is retried by us, not firebase-admin').toBe(2);
  });

  it('chunks more than 500 devices into sendEach calls of at most 500', { timeout: 30_000 }, async () => {
    const fcm = transport({ batchesInFlight: 2 });
    await fcm.send(approval(), [device('warm')]);
    // Watch (not replace) the app's real sendEach to see the batch sizes.
    const { getMessaging } = await import('firebase-admin/messaging');
    const messaging = getMessaging(getApps().find((a) => a.name.startsWith('idrelay-fcm-'))!);
    const real = messaging.sendEach.bind(messaging);
    const sizes: number[] = [];
    messaging.sendEach = (messages, dryRun) => {
      sizes.push(messages.length);
      return real(messages, dryRun);
    };
    const targets = Array.from({ length: 1100 }, (_, i) => device(`bulk-${i}`));
    const results = await fcm.send(approval(), targets);
    expect(sizes).toEqual([500, 500, 100]);
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    expect(results.map((r) => r.deviceId)).toEqual(targets.map((t) => t.deviceId));
    expect(standIn.messages).toHaveLength(1101);
  });

  it('reports a failed HTTP/2 session as retry-after ERR_TRANSPORT_NETWORK', async () => {
    const fcm = transport({ retry: false });
    await fcm.send(approval(), [device('warm')]); // the OAuth token is cached from here on
    const dead = await startFcmStandIn();
    await dead.close();
    const detour = redirectFirebaseToStandIn(dead);
    try {
      const [result] = await fcm.send(approval(), [device('tok-3')]);
      expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
    } finally {
      detour.restore();
    }
  });

  it('gives devices not yet answered retry-after ERR_TRANSPORT_TIMEOUT when the caller aborts', async () => {
    standIn.fail('slow', { kind: 'slow', delayMs: 30_000 });
    const fcm = transport();
    const controller = new AbortController();
    const sent = fcm.send(approval(), [device('slow')], { signal: controller.signal });
    controller.abort();
    expect(await sent).toEqual([expect.objectContaining({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' })]);
  });

  it('settles in-flight sends with ERR_TRANSPORT_CLOSED on close(), then refuses to send', async () => {
    standIn.fail('slow', { kind: 'slow', delayMs: 30_000 });
    const fcm = transport();
    await fcm.send(approval(), [device('warm')]);
    const sent = fcm.send(approval(), [device('slow')]);
    await fcm.close();
    expect(await sent).toEqual([expect.objectContaining({ status: 'retry-after', code: 'ERR_TRANSPORT_CLOSED' })]);
    const error = await fcm.send(approval(), [device('warm')]).catch((e: unknown) => e);
    expect(isIdrelayError(error, 'ERR_TRANSPORT_CLOSED')).toBe(true);
  });

  it('reads the service account from a key-file path', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'idrelay-fcm-')), 'service-account.json');
    writeFileSync(path, JSON.stringify(standIn.serviceAccount));
    const fcm = transport({ serviceAccount: path });
    expect(await fcm.send(approval(), [device('from-file')])).toEqual([
      expect.objectContaining({ status: 'delivered' }),
    ]);
  });

  it('uses an injected firebase-admin Credential instead of a service account', async () => {
    let calls = 0;
    const borrowed = transport();
    await borrowed.send(approval(), [device('warm')]);
    const { getApps } = await import('firebase-admin/app');
    const app = getApps().find((a) => a.name.startsWith('idrelay-fcm-'))!;
    const token = (await app.options.credential!.getAccessToken()).access_token;
    const fcm = transport({
      serviceAccount: undefined,
      credential: {
        getAccessToken: async () => {
          calls++;
          return { access_token: token, expires_in: 3600 };
        },
      },
    });
    expect(await fcm.send(approval(), [device('injected')])).toEqual([
      expect.objectContaining({ status: 'delivered' }),
    ]);
    expect(calls).toBe(1);
  });

  it('rejects devices of another platform without sending', async () => {
    const fcm = transport();
    const [result] = await fcm.send(approval(), [{ deviceId: 'ios-1', platform: 'apns', token: 'abc' }]);
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_TRANSPORT_PLATFORM_MISMATCH' });
    expect(standIn.requestsByProtocol.h2).toBe(0);
  });
});
