import { Agent, request } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { startWebPushService, type WebPushService } from '../src/index.js';

// web-push@3.6.7 is an independent client: if it interoperates with the service, the service speaks the RFCs.
const vapid = webpush.generateVAPIDKeys();
const vapidDetails = { subject: 'mailto:ops@example.com', publicKey: vapid.publicKey, privateKey: vapid.privateKey };

describe('startWebPushService', () => {
  let service: WebPushService;
  let agent: Agent;
  beforeEach(async () => {
    service = await startWebPushService();
    agent = new Agent({ ca: service.ca, keepAlive: true });
  });
  afterEach(async () => {
    agent.destroy();
    await service.close();
  });

  const push = (
    subscription: webpush.PushSubscription,
    payload: string | Buffer,
    options: webpush.RequestOptions = {},
  ) =>
    webpush.sendNotification(subscription, payload, { vapidDetails, agent, TTL: 60, ...options }).then(
      (r) => ({ statusCode: r.statusCode, headers: r.headers }),
      (e: webpush.WebPushError) => ({ statusCode: e.statusCode, headers: e.headers, body: e.body }),
    );

  it('verifies VAPID, decrypts, records plaintext and headers, answers 201 + Location', async () => {
    const subscription = service.subscribe();
    expect(subscription.endpoint).toMatch(new RegExp(`^https://localhost:${service.port}/push/[\\w-]+$`));
    expect(Buffer.from(subscription.keys.p256dh, 'base64url')).toHaveLength(65);
    expect(Buffer.from(subscription.keys.auth, 'base64url')).toHaveLength(16);

    const answer = await push(subscription, '{"title":"hi"}', { urgency: 'high', topic: 'approval-42' });

    expect(answer.statusCode).toBe(201);
    expect(answer.headers.location).toMatch(`${service.origin}/message/`);
    const [got] = service.received(subscription);
    expect(got?.json()).toEqual({ title: 'hi' });
    expect(got).toMatchObject({ ttl: 60, urgency: 'high', topic: 'approval-42' });
    expect(got?.vapid).toMatchObject({
      aud: service.origin,
      sub: 'mailto:ops@example.com',
      publicKey: vapid.publicKey,
    });
    expect(service.counts()).toEqual({ requests: 1, accepted: 1, decrypted: 1, refused: 0 });
  });

  it('answers 404 for unknown subscriptions and 410 after unsubscribe', async () => {
    const subscription = service.subscribe();
    const unknown = { ...subscription, endpoint: `${service.origin}/push/nobody` };
    expect((await push(unknown, 'x')).statusCode).toBe(404);
    service.unsubscribe(subscription);
    expect((await push(subscription, 'x')).statusCode).toBe(410);
    expect(service.received()).toEqual([]);
  });

  it('rejects VAPID with the wrong audience, a far expiry or a foreign key with 403', async () => {
    const subscription = service.subscribe({ applicationServerKey: webpush.generateVAPIDKeys().publicKey });
    const foreign = await push(subscription, 'x');
    expect(foreign.statusCode).toBe(403);
    expect(service.requests(subscription)[0]?.reason).toMatch(/applicationServerKey/);

    const open = service.subscribe();
    const now = Math.floor(Date.now() / 1000);
    const authorization = (aud: string, exp: number) =>
      webpush.getVapidHeaders(aud, vapidDetails.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm', exp)
        .Authorization;
    const send = (to: webpush.PushSubscription, auth: string) =>
      push(to, 'x', { headers: { Authorization: auth }, vapidDetails: undefined });
    expect((await send(open, authorization('https://example.com', now + 60))).statusCode).toBe(403);

    // A service whose clock is two hours behind sees a 23-hour token as 25 hours ahead.
    const behind = await startWebPushService({ clock: { now: () => Date.now() - 2 * 3600_000 } });
    const far = behind.subscribe();
    const farAgent = new Agent({ ca: behind.ca });
    const answer = await webpush
      .sendNotification(far, 'x', {
        TTL: 1,
        agent: farAgent,
        headers: { Authorization: authorization(behind.origin, now + 23 * 3600) },
      })
      .catch((e: webpush.WebPushError) => e);
    farAgent.destroy();
    await behind.close();
    expect(answer.statusCode).toBe(403);
    expect(behind.requests(far)[0]?.reason).toMatch(/24 hours/);
    expect(service.requests(open)[0]?.reason).toMatch(/aud/);
  });

  it('refuses bodies over 4096 bytes with 413 and a missing TTL with 400', async () => {
    const subscription = service.subscribe();
    expect((await push(subscription, Buffer.alloc(4000))).statusCode).toBe(413);
    const { Authorization } = webpush.getVapidHeaders(
      service.origin,
      vapidDetails.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
    );
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(subscription.endpoint, { method: 'POST', agent, headers: { Authorization } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(400);
    expect(service.requests(subscription).map((r) => r.status)).toEqual([413, 400]);
  });

  it('checks Urgency, Topic and Content-Encoding before decrypting (400/415)', async () => {
    const subscription = service.subscribe();
    const { Authorization } = webpush.getVapidHeaders(
      service.origin,
      vapidDetails.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
    );
    const post = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          subscription.endpoint,
          { method: 'POST', agent, headers: { Authorization, TTL: '60', 'Content-Encoding': 'aes128gcm', ...headers } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end(Buffer.alloc(100));
      });
    expect(await post({ Urgency: 'urgent' })).toBe(400);
    expect(await post({ Topic: 'x'.repeat(33) })).toBe(400);
    expect(await post({ Topic: 'not base64url!' })).toBe(400);
    expect(await post({ 'Content-Encoding': 'aesgcm' })).toBe(415);
    expect(await post({})).toBe(400); // passes the header checks, but 100 zero bytes do not decrypt
    expect(service.requests(subscription).map((r) => r.reason)).toEqual([
      expect.stringMatching(/Urgency/),
      expect.stringMatching(/Topic/),
      expect.stringMatching(/Topic/),
      expect.stringMatching(/Content-Encoding/),
      expect.stringMatching(/decrypt/),
    ]);
  });

  it('answers a slow subscription after the scripted delay', async () => {
    const subscription = service.subscribe();
    service.script(subscription, { delayMs: 30 }, { times: 1 });
    const started = performance.now();
    expect((await push(subscription, 'slow')).statusCode).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(service.received(subscription).map((r) => r.text())).toEqual(['slow']);
  });

  it('plays scripted answers in order: 429 with Retry-After, then a reset, then normal', async () => {
    const subscription = service.subscribe();
    service.script(subscription, { status: 429, retryAfter: 7 }, { times: 1 });
    service.script(subscription, { reset: true }, { times: 1 });

    const throttled = await push(subscription, 'a');
    expect(throttled).toMatchObject({ statusCode: 429, headers: expect.objectContaining({ 'retry-after': '7' }) });
    await expect(webpush.sendNotification(subscription, 'b', { vapidDetails, agent, TTL: 60 })).rejects.toThrow();
    expect((await push(subscription, 'c')).statusCode).toBe(201);
    expect(service.received(subscription).map((r) => r.text())).toEqual(['c']);
  });

  it('counts open connections and drops them on close', async () => {
    const subscription = service.subscribe();
    await push(subscription, 'x');
    expect(service.openConnections()).toBe(1);
    service.script(subscription, { hang: true });
    const pending = push(subscription, 'y');
    await service.close();
    await expect(pending).resolves.toMatchObject({ statusCode: undefined });
    expect(service.openConnections()).toBe(0);
  });
});
