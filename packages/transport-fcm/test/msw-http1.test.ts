/**
 * firebase-admin's real HTTP/1.1 path (OAuth token fetch, then one `messages:send` per message with
 * `enableLegacyHttpTransport()`), intercepted by msw with the testkit's FCM handlers.
 */
import { createTestServiceAccount } from '@idrelay/testkit';
import { fcmHandlers } from '@idrelay/testkit/msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFcmTransport } from '../src/index.js';
import { approval, device, fakeSleep } from './fixtures.js';

const fcm = fcmHandlers({ projectId: 'idrelay-msw' });
const server = setupServer(...fcm.handlers);
const clock = fakeSleep();
const transport = createFcmTransport({
  projectId: fcm.projectId,
  serviceAccount: fcm.serviceAccount,
  legacyHttpTransport: true,
  sleep: clock.sleep,
  random: () => 0.5,
});

beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => {
  fcm.reset();
  clock.delays.length = 0;
});
afterAll(async () => {
  await transport.close();
  server.close();
});

describe('FCM transport over HTTP/1.1 (msw)', () => {
  it('fetches an OAuth token with a signed assertion and delivers the mapped message', async () => {
    const [result] = await transport.send(approval(), [device('tok-a', { actionToken: 'at-1' })]);

    expect(result).toMatchObject({ deviceId: 'dev-tok-a', status: 'delivered' });
    expect(result?.status === 'delivered' && result.providerMessageId).toMatch(/^projects\/idrelay-msw\/messages\//);
    expect(fcm.tokensIssued).toBeLessThanOrEqual(1);
    const sent = fcm.messages[0]?.message;
    expect(sent).toMatchObject({
      token: 'tok-a',
      notification: { title: 'Approve access to payroll?', body: 'Alice requests finance-admins.' },
      data: { requestId: 'req-42', actionToken: 'at-1' },
      android: { priority: 'high', collapse_key: 'req-42', ttl: '300s' },
      apns: { headers: { 'apns-priority': '10', 'apns-collapse-id': 'req-42' } },
      webpush: { headers: { Urgency: 'high', TTL: '300' } },
    });
  });

  it.each([
    [
      'unregistered',
      { kind: 'unregistered' },
      'invalid-token',
      'ERR_FCM_INVALID_TOKEN',
      'messaging/registration-token-not-registered',
    ],
    [
      'legacy InvalidRegistration',
      { kind: 'invalid-registration' },
      'invalid-token',
      'ERR_FCM_INVALID_TOKEN',
      'messaging/invalid-registration-token',
    ],
    ['INVALID_ARGUMENT', { kind: 'invalid-argument' }, 'rejected', 'ERR_FCM_REJECTED', 'messaging/invalid-argument'],
    [
      'SENDER_ID_MISMATCH',
      { kind: 'sender-id-mismatch' },
      'rejected',
      'ERR_FCM_REJECTED',
      'messaging/mismatched-credential',
    ],
  ] as const)('maps %s to %s', async (_name, fault, status, code, sdkCode) => {
    fcm.fail('tok-x', fault);
    const [result] = await transport.send(approval(), [device('tok-x')]);
    expect(result).toMatchObject({
      deviceId: 'dev-tok-x',
      status,
      code,
      reason: expect.stringMatching(`^${sdkCode}: `),
    });
    expect(fcm.attempts('tok-x'), 'final answers are not retried').toBe(1);
  });

  it('retries QUOTA_EXCEEDED after the Retry-After FCM gave, then delivers', async () => {
    fcm.fail('tok-q', { kind: 'quota-exceeded', retryAfterSeconds: 2 }, { times: 1 });
    const [result] = await transport.send(approval(), [device('tok-q')]);
    expect(result).toMatchObject({ status: 'delivered' });
    expect(clock.delays).toEqual([2000]);
    expect(fcm.attempts('tok-q')).toBe(2);
  });

  it('hands a Retry-After longer than it waits in-process straight to the outbox', async () => {
    fcm.fail('tok-q', { kind: 'quota-exceeded', retryAfterSeconds: 60 });
    const [result] = await transport.send(approval(), [device('tok-q')]);
    expect(result).toMatchObject({
      status: 'retry-after',
      code: 'ERR_FCM_RATE_LIMITED',
      retryAfterMs: 60_000,
    });
    expect(clock.delays).toEqual([]);
    expect(fcm.attempts('tok-q')).toBe(1);
  });

  it('retries INTERNAL with exponential backoff and jitter, then gives up as retry-after', async () => {
    fcm.fail('tok-i', { kind: 'internal' });
    const [result] = await transport.send(approval(), [device('tok-i')]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_FCM_SERVICE_UNAVAILABLE' });
    expect(result).not.toHaveProperty('retryAfterMs');
    // attempts 3, base 500 ms, full jitter with random() = 0.5: half of 500, then half of 1000.
    expect(clock.delays).toEqual([250, 500]);
    expect(fcm.attempts('tok-i')).toBe(3);
  });

  it('maps UNAVAILABLE to retry-after with its Retry-After, handed to the outbox when longer than we wait', async () => {
    // firebase-admin's own 503 retries are off (ours are the only ones); 120 s is above retry.maxDelayMs.
    fcm.fail('tok-u', { kind: 'unavailable', retryAfterSeconds: 120 });
    const [result] = await transport.send(approval(), [device('tok-u')]);
    expect(result).toMatchObject({
      status: 'retry-after',
      code: 'ERR_FCM_SERVICE_UNAVAILABLE',
      retryAfterMs: 120_000,
    });
  });

  it('maps a network failure to retry-after ERR_TRANSPORT_NETWORK, and retries it', async () => {
    fcm.fail('tok-r', { kind: 'reset' });
    const [result] = await transport.send(approval(), [device('tok-r')]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
    expect(clock.delays).toHaveLength(2);
  });

  it('reports a service account the token endpoint refuses as ERR_FCM_CREDENTIALS, without retrying', async () => {
    const stranger = createTestServiceAccount({ projectId: fcm.projectId }).serviceAccount;
    const other = createFcmTransport({
      projectId: fcm.projectId,
      serviceAccount: stranger,
      legacyHttpTransport: true,
      sleep: clock.sleep,
    });
    const [result] = await other.send(approval(), [device('tok-a')]);
    await other.close();
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_FCM_CREDENTIALS' });
    expect(result?.status === 'rejected' && result.reason).toContain('invalid_grant');
    expect(fcm.messages).toHaveLength(0);
  });

  it('refuses a message over 4096 bytes before sending', async () => {
    const [result] = await transport.send(approval({ body: 'x'.repeat(4200) }), [device('tok-a')]);
    expect(result).toMatchObject({ status: 'rejected', code: 'ERR_FCM_PAYLOAD_TOO_LARGE' });
    expect(fcm.attempts('tok-a')).toBe(0);
  });
});
