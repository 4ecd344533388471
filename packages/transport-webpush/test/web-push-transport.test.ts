import { Agent } from 'node:https';
import type { DeviceTarget, PushMessage, Transport, WebPushSubscription } from '@idrelay/core';
import { isIdrelayError } from '@idrelay/core';
import { startWebPushService, type WebPushService } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebPushTransport, generateVapidKeys } from '../src/index.js';
import type { WebPushTransportOptions } from '../src/options.js';

const vapid = { ...generateVapidKeys(), subject: 'mailto:ops@example.com' };
const message: PushMessage = { id: 'n1', title: 'Approve?', body: 'Alice asks for admin', urgency: 'high' };
const fakeClock = (start = Date.now()) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

// Both request paths: the built-in HTTP/1.1 pool, and node:https through an agent the caller supplies.
describe.each(['pool', 'agent'] as const)('createWebPushTransport (%s) against the testkit push service', (mode) => {
  let service: WebPushService;
  let transport: Transport;
  const open: Transport[] = [];
  const agents: Agent[] = [];
  const create = (options: Partial<WebPushTransportOptions> = {}) => {
    let extra: Partial<WebPushTransportOptions> = { ca: service.ca };
    if (mode === 'agent') {
      const agent = new Agent({ ca: service.ca, keepAlive: true, maxSockets: options.maxSockets ?? 64 });
      agents.push(agent);
      extra = { agent };
    }
    const t = createWebPushTransport({ vapid, ...extra, ...options });
    open.push(t);
    return t;
  };
  const device = (subscription: WebPushSubscription, id = 'browser-1'): DeviceTarget => ({
    deviceId: id,
    platform: 'webpush',
    subscription,
  });
  const sendTo = async (subscription: WebPushSubscription, m: PushMessage = message, t = transport) =>
    (await t.send(m, [device(subscription)]))[0];

  beforeEach(async () => {
    service = await startWebPushService();
    transport = create();
  });
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
    for (const a of agents.splice(0)) a.destroy();
    await service.close();
  });

  it('sends TTL, Urgency and Topic as RFC 8030 headers, and the Location as message id', async () => {
    const subscription = service.subscribe();
    const result = await sendTo(subscription, {
      ...message,
      ttlSeconds: 300,
      urgency: 'very-low',
      collapseId: 'req-42',
    });
    const [push] = service.received(subscription);
    expect(push).toMatchObject({ ttl: 300, urgency: 'very-low', topic: 'req-42' });
    expect(push?.headers['content-encoding']).toBe('aes128gcm');
    expect(result).toEqual({
      deviceId: 'browser-1',
      status: 'delivered',
      providerMessageId: expect.stringMatching(`${service.origin}/message/`),
    });
  });

  it('defaults TTL to a day, omits Topic without collapseId and hashes long collapse ids', async () => {
    const subscription = service.subscribe();
    await sendTo(subscription);
    await sendTo(subscription, { ...message, collapseId: 'access.requested/tenant 7/request 1234567890' });
    const [plain, collapsed] = service.received(subscription);
    expect(plain).toMatchObject({ ttl: 86_400, urgency: 'high' });
    expect(plain?.topic).toBeUndefined();
    expect(collapsed?.topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('signs VAPID once per origin and reuses it across messages and sends', async () => {
    const subscriptions = [service.subscribe(), service.subscribe(), service.subscribe()];
    await transport.send(
      message,
      subscriptions.map((s, i) => device(s, `d${i}`)),
    );
    await sendTo(subscriptions[0]!);
    const tokens = new Set(service.requests().map((r) => r.headers.authorization));
    expect(service.received()).toHaveLength(4);
    expect(tokens.size).toBe(1);
    expect(service.received()[0]?.vapid).toMatchObject({
      aud: service.origin,
      sub: vapid.subject,
      publicKey: vapid.publicKey,
    });
  });

  it('refreshes the VAPID token shortly before it expires (fake clock shared with the service)', async () => {
    await service.close();
    const clock = fakeClock();
    service = await startWebPushService({ clock });
    transport = create({ clock });
    const subscription = service.subscribe();
    await sendTo(subscription);
    clock.advance(10 * 3600_000);
    await sendTo(subscription);
    clock.advance(1.5 * 3600_000); // 11.5 h: inside the last hour of a 12 h token
    await sendTo(subscription);
    clock.advance(12 * 3600_000); // the first token has expired by now; the service would refuse it
    await sendTo(subscription);
    const exps = service.received(subscription).map((p) => p.vapid.exp);
    expect(exps).toHaveLength(4);
    expect(exps[1]).toBe(exps[0]);
    expect(exps[2]).toBeGreaterThan(exps[0]!);
    expect(exps[3]).toBeGreaterThan(exps[2]!);
  });

  it.each([
    [404, 'invalid-token', 'ERR_WEBPUSH_SUBSCRIPTION_GONE'],
    [410, 'invalid-token', 'ERR_WEBPUSH_SUBSCRIPTION_GONE'],
    [413, 'rejected', 'ERR_WEBPUSH_PAYLOAD_REJECTED'],
    [403, 'rejected', 'ERR_WEBPUSH_VAPID_REJECTED'],
    [400, 'rejected', 'ERR_WEBPUSH_REJECTED'],
    [500, 'retry-after', 'ERR_WEBPUSH_SERVICE_UNAVAILABLE'],
    [503, 'retry-after', 'ERR_WEBPUSH_SERVICE_UNAVAILABLE'],
    [429, 'retry-after', 'ERR_WEBPUSH_RATE_LIMITED'],
  ])('maps a %i answer to %s (%s)', async (status, expected, code) => {
    const subscription = service.subscribe();
    service.script(subscription, { status });
    const result = await sendTo(subscription);
    expect(result).toMatchObject({
      deviceId: 'browser-1',
      status: expected,
      code,
      reason: expect.stringContaining(String(status)),
    });
    expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('maps a real 404 (unknown subscription) and 410 (unsubscribed) to invalid-token', async () => {
    const gone = service.subscribe();
    service.unsubscribe(gone);
    const unknown = { ...service.subscribe(), endpoint: `${service.origin}/push/nobody` };
    const results = await transport.send(message, [device(gone, 'gone'), device(unknown, 'unknown')]);
    expect(results.map((r) => [r.deviceId, r.status])).toEqual([
      ['gone', 'invalid-token'],
      ['unknown', 'invalid-token'],
    ]);
  });

  it('honours Retry-After as seconds and as an HTTP date', async () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12, 0, 0));
    await service.close();
    service = await startWebPushService({ clock });
    transport = create({ clock });
    const seconds = service.subscribe();
    const date = service.subscribe();
    service.script(seconds, { status: 429, retryAfter: 120 });
    service.script(date, { status: 503, retryAfter: 'Mon, 23 Nov 2026 12:00:45 GMT' });
    expect(await sendTo(seconds)).toMatchObject({ status: 'retry-after', retryAfterMs: 120_000 });
    expect(await sendTo(date)).toMatchObject({ status: 'retry-after', retryAfterMs: 45_000 });
  });

  it('reports a VAPID key the subscription was not made for as rejected ERR_WEBPUSH_VAPID_REJECTED', async () => {
    const subscription = service.subscribe({ applicationServerKey: generateVapidKeys().publicKey });
    expect(await sendTo(subscription)).toMatchObject({ status: 'rejected', code: 'ERR_WEBPUSH_VAPID_REJECTED' });
  });

  it('turns a connection reset into retry-after ERR_TRANSPORT_NETWORK and keeps working', async () => {
    const subscription = service.subscribe();
    service.script(subscription, { reset: true }, { times: 1 });
    expect(await sendTo(subscription)).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
    expect(await sendTo(subscription)).toMatchObject({ status: 'delivered' });
  });

  it('logs a debug line for a request that got no answer', async () => {
    const lines: { fields: Record<string, unknown>; message?: string }[] = [];
    const logger = {
      debug: (fields: Record<string, unknown>, message?: string) => lines.push({ fields, message }),
      info() {},
      warn() {},
      error() {},
    };
    const subscription = service.subscribe();
    service.script(subscription, { reset: true }, { times: 1 });
    await sendTo(subscription, message, create({ logger }));
    expect(lines).toEqual([
      {
        fields: expect.objectContaining({ deviceId: 'browser-1', code: 'ERR_TRANSPORT_NETWORK' }),
        message: 'webpush: no answer',
      },
    ]);
  });

  it('gives up on a slow service after timeoutMs with retry-after ERR_TRANSPORT_TIMEOUT', async () => {
    const subscription = service.subscribe();
    service.script(subscription, { hang: true });
    const quick = create({ timeoutMs: 50 });
    expect(await sendTo(subscription, message, quick)).toMatchObject({
      status: 'retry-after',
      code: 'ERR_TRANSPORT_TIMEOUT',
    });
  });

  it('stops waiting when the caller aborts', async () => {
    const subscription = service.subscribe();
    service.script(subscription, { hang: true });
    const controller = new AbortController();
    const pending = transport.send(message, [device(subscription)], { signal: controller.signal });
    await expect.poll(() => service.requests(subscription).length).toBe(1);
    controller.abort();
    expect((await pending)[0]).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' });
  });

  it('does not send at all when the signal is already aborted', async () => {
    const subscription = service.subscribe();
    const results = await transport.send(message, [device(subscription)], { signal: AbortSignal.abort() });
    expect(results[0]).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' });
    expect(service.received(subscription)).toEqual([]);
  });

  it('accepts exactly 3993 bytes of plaintext and refuses 3994 before sending', async () => {
    const subscription = service.subscribe();
    const fixed = JSON.stringify({ id: 'n', urgency: 'normal', data: {}, body: '' }).length;
    const sized = (n: number): PushMessage => ({ id: 'n', urgency: 'normal', body: 'b'.repeat(n - fixed) });
    expect(await sendTo(subscription, sized(3993))).toMatchObject({ status: 'delivered' });
    expect(await sendTo(subscription, sized(3994))).toMatchObject({
      status: 'rejected',
      code: 'ERR_WEBPUSH_PAYLOAD_TOO_LARGE',
    });
    expect(service.requests(subscription)).toHaveLength(1);
    expect(service.received(subscription)[0]?.plaintext).toHaveLength(3993);
  });

  it('reports malformed subscriptions and foreign platforms per device, without sending', async () => {
    const ok = service.subscribe();
    const results = await transport.send(message, [
      {
        deviceId: 'http',
        platform: 'webpush',
        subscription: { ...ok, endpoint: ok.endpoint.replace('https:', 'http:') },
      },
      { deviceId: 'bad-key', platform: 'webpush', subscription: { ...ok, keys: { ...ok.keys, p256dh: 'AAAA' } } },
      {
        deviceId: 'off-curve',
        platform: 'webpush',
        subscription: { ...ok, keys: { ...ok.keys, p256dh: `BA${'A'.repeat(85)}` } },
      },
      { deviceId: 'ios', platform: 'apns', token: 'abc' },
      device(ok, 'ok'),
    ]);
    expect(results.map((r) => [r.deviceId, r.status, 'code' in r ? r.code : undefined])).toEqual([
      ['http', 'invalid-token', 'ERR_WEBPUSH_SUBSCRIPTION_INVALID'],
      ['bad-key', 'invalid-token', 'ERR_WEBPUSH_SUBSCRIPTION_INVALID'],
      ['off-curve', 'invalid-token', 'ERR_WEBPUSH_SUBSCRIPTION_INVALID'],
      ['ios', 'rejected', 'ERR_TRANSPORT_PLATFORM_MISMATCH'],
      ['ok', 'delivered', undefined],
    ]);
    expect(service.counts().requests).toBe(1);
  });

  it('keeps at most maxSockets connections to one push service', async () => {
    const narrow = create({ maxSockets: 2 });
    const targets = Array.from({ length: 20 }, (_, i) => device(service.subscribe(), `d${i}`));
    const results = await narrow.send(message, targets);
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    expect(service.openConnections()).toBeLessThanOrEqual(2);
  });

  it('refuses unusable options with ERR_TRANSPORT_CONFIG / ERR_WEBPUSH_VAPID_INVALID', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return isIdrelayError(error) ? error.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => createWebPushTransport({ vapid, maxSockets: 0 }))).toBe('ERR_TRANSPORT_CONFIG');
    expect(codeOf(() => createWebPushTransport({ vapid: { ...vapid, subject: 'nobody' } }))).toBe(
      'ERR_WEBPUSH_VAPID_INVALID',
    );
  });
});

describe('createWebPushTransport connection handling', () => {
  it('settles requests still waiting for a socket when closed, and frees every socket', async () => {
    const service = await startWebPushService();
    const transport = createWebPushTransport({ vapid, ca: service.ca, maxSockets: 1 });
    const slow = service.subscribe();
    service.script(slow, { hang: true });
    const queued = service.subscribe();
    const pending = transport.send(message, [
      { deviceId: 'slow', platform: 'webpush', subscription: slow },
      { deviceId: 'queued', platform: 'webpush', subscription: queued },
    ]);
    await expect.poll(() => service.requests(slow).length).toBe(1);
    await transport.close();
    const results = await pending;
    expect(results.map((r) => [r.deviceId, r.status])).toEqual([
      ['slow', 'retry-after'],
      ['queued', 'retry-after'],
    ]);
    await expect.poll(() => service.openConnections()).toBe(0);
    await service.close();
  });

  it('refuses a service whose certificate it does not trust (no CA given) as a network failure', async () => {
    const service = await startWebPushService();
    const transport = createWebPushTransport({ vapid });
    const [result] = await transport.send(message, [
      { deviceId: 'd', platform: 'webpush', subscription: service.subscribe() },
    ]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
    expect(service.counts().requests).toBe(0);
    await transport.close();
    await service.close();
  });

  it('opens a new connection when the service closes one after answering', async () => {
    const service = await startWebPushService();
    const transport = createWebPushTransport({ vapid, ca: service.ca, maxSockets: 1 });
    const subscription = service.subscribe();
    service.script(subscription, { reset: true }, { times: 1 });
    const target: DeviceTarget = { deviceId: 'd', platform: 'webpush', subscription };
    const results = [...(await transport.send(message, [target])), ...(await transport.send(message, [target]))];
    expect(results.map((r) => r.status)).toEqual(['retry-after', 'delivered']);
    await transport.close();
    await service.close();
  });
});
