/**
 * The push side of the device simulator: a Web Push subscription keyed by the browser (the service stores the body
 * encrypted and only the device opens it), and the push channel served and read over HTTP.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { startWebPushService, type WebPushService } from '@idrelay/testkit';
import { createPushChannelHandler, readPush, remotePushChannel, sandboxPushChannel } from '@idrelay/testkit/device';
import { createWebPushTransport, generateVapidKeys } from '@idrelay/transport-webpush';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let service: WebPushService;
let transport: ReturnType<typeof createWebPushTransport>;

beforeAll(async () => {
  service = await startWebPushService();
  transport = createWebPushTransport({
    vapid: { ...generateVapidKeys(), subject: 'mailto:test@example.com' },
    ca: service.ca,
  });
});
afterAll(async () => {
  await transport.close();
  await service.close();
});

function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') } };
}

describe('Web Push with the browser’s own keys', () => {
  it('is accepted unread, recorded encrypted, and opened only with the browser’s keys', async () => {
    const browser = browserKeys();
    const subscription = service.subscribe({ keys: browser.keys });
    const [result] = await transport.send(
      { id: 'n-1', urgency: 'high', title: 'Sign-in request', data: { nid: 'n-1', tok: 'secret-token' } },
      [{ deviceId: 'firefox', platform: 'webpush', subscription }],
    );
    expect(result?.status).toBe('delivered');
    const [received] = service.received(subscription);
    expect(received).toMatchObject({ decrypted: false });
    expect(received?.plaintext).toHaveLength(0);
    expect(received?.body.toString('latin1')).not.toContain('secret-token');

    const push = readPush(
      { platform: 'webpush', body: new Uint8Array(received?.body ?? []), receivedAt: received?.receivedAt ?? 0 },
      browser,
    );
    expect(push).toMatchObject({ notificationId: 'n-1', token: 'secret-token', title: 'Sign-in request' });
    expect(() =>
      readPush({ platform: 'webpush', body: new Uint8Array(received?.body ?? []), receivedAt: 0 }, browserKeys()),
    ).toThrow(/authentication tag mismatch/);
  });

  it('refuses keys that are not a P-256 point and a 16-byte secret', () => {
    expect(() => service.subscribe({ keys: { p256dh: 'AAAA', auth: randomBytes(16).toString('base64url') } })).toThrow(
      TypeError,
    );
  });
});

describe('push channel over HTTP', () => {
  const handler = () => createPushChannelHandler(sandboxPushChannel({ webpush: service }));
  const post = (path: string, body: string) =>
    handler()(
      new Request(`http://gw.test${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    );

  it('hands the device the same pushes, bodies still encrypted', async () => {
    const browser = browserKeys();
    const remote = remotePushChannel({ baseUrl: 'http://gw.test', fetch: handler() });
    const endpoint = await remote.subscribeWebPush(browser.keys);
    const subscription = { endpoint, keys: browser.keys };
    await transport.send({ id: 'n-2', urgency: 'normal', body: 'Hello', data: { nid: 'n-2' } }, [
      { deviceId: 'chrome', platform: 'webpush', subscription },
    ]);
    const [wire] = await remote.received({ platform: 'webpush', subscription });
    expect(wire?.platform).toBe('webpush');
    expect(readPush(wire as never, browser)).toMatchObject({ notificationId: 'n-2', body: 'Hello', token: undefined });
  });

  it('answers malformed requests with 400, other paths with 404, other methods with 405', async () => {
    expect((await post('/sandbox/pushes', '{"address":{"platform":"apns"}}')).status).toBe(400);
    expect((await post('/sandbox/pushes', 'not json')).status).toBe(400);
    expect((await post('/sandbox/webpush/subscriptions', '{"p256dh":"a b","auth":"x"}')).status).toBe(400);
    expect((await post('/sandbox/webpush/subscriptions', '{"p256dh":"AAAA","auth":"AAAA"}')).status).toBe(400);
    expect((await post('/sandbox/other', '{}')).status).toBe(404);
    expect((await handler()(new Request('http://gw.test/sandbox/pushes'))).status).toBe(405);
  });

  it('fails with DeviceRequestError when the sandbox is absent or unreachable', async () => {
    const none = remotePushChannel({ baseUrl: 'http://gw.test', fetch: () => new Response('{}', { status: 404 }) });
    await expect(none.received({ platform: 'fcm', token: 'x'.repeat(20) })).rejects.toMatchObject({
      name: 'DeviceRequestError',
      code: 'ERR_DEVICE_UNEXPECTED_RESPONSE',
      status: 404,
    });
    const down = remotePushChannel({
      baseUrl: 'http://gw.test',
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(down.subscribeWebPush(browserKeys().keys)).rejects.toMatchObject({
      code: 'ERR_DEVICE_UNREACHABLE',
      status: 0,
      message: expect.stringContaining('fetch failed'),
    });
  });

  it('says which stand-in is missing', async () => {
    await expect(sandboxPushChannel({}).received({ platform: 'apns', token: 'ab'.repeat(32) })).rejects.toThrow(
      /no apns stand-in/,
    );
  });
});
