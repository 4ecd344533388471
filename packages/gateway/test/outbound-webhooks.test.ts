/**
 * Outbound webhooks over real loopback HTTP: what the receiver gets is a signed structured CloudEvent; answers map
 * to written / retried / dead-lettered on the relay's durable outgoing path; a crash between the decision and the
 * write-back still delivers once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type IdentityEvent, isIdrelayError, type Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createRelay, type Relay } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory } from '@idrelay/testkit';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createWebhookReceiver,
  createWebhookSubscriptions,
  createWebhookWriteBack,
  type WebhookWriteBack,
  type WebhookWriteBackOptions,
} from '../src/outbound/index.js';
import { manualClock, manualScheduler, newSecret, serveHandler, serveRaw } from './support/outbound-fixtures.js';

const cleanups: Array<() => Promise<unknown>> = [];
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'idrelay-outbound-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function receiverAt(options: Parameters<typeof createWebhookReceiver>[0]) {
  const receiver = createWebhookReceiver(options);
  const server = await serveHandler(receiver.handler);
  cleanups.push(server.close);
  return { receiver, url: `${server.url}/hooks/idrelay` };
}

const approved = (id = 'req-1') =>
  createEvent(
    'idrelay.access.approved',
    { requestId: id, approver: { id: 'bob' }, decidedAt: '2026-12-03T10:00:00Z' },
    { source: '/idrelay/relay', id },
  ) as IdentityEvent;

function writer(options: Partial<WebhookWriteBackOptions> & Pick<WebhookWriteBackOptions, 'url' | 'secret'>) {
  return createWebhookWriteBack({ name: 'iam', types: ['idrelay.access.approved'], timeoutMs: 5_000, ...options });
}

/** A relay on a SQLite file whose preference changes go to `writeBacks`. */
async function relayOn(
  path: string,
  writeBacksFor: WebhookWriteBack[] | ((store: Store) => WebhookWriteBack[]),
  clock = manualClock(),
) {
  const store: Store = await createSqliteStore({ path });
  const writeBacks = typeof writeBacksFor === 'function' ? writeBacksFor(store) : writeBacksFor;
  const relay: Relay = createRelay({
    store,
    directory: createMemoryDirectory({ users: [{ id: 'dave' }, { id: 'erin' }] }),
    transports: [],
    rules: [],
    clock,
    scheduler: manualScheduler,
    random: () => 0.5,
    writeBacks,
    writeBackRetry: { baseMs: 1_000, maxAttempts: 3 },
  });
  cleanups.push(async () => {
    await relay.close();
    await store.close();
  });
  return { store, relay, clock };
}

const changePreferences = (relay: Relay, userId: string) =>
  relay.preferences.set(userId, { rules: [{ category: 'announcement', channel: '*', enabled: false }] }, 'device');

describe('createWebhookWriteBack', () => {
  it('POSTs a structured CloudEvent that the standardwebhooks verifier accepts', async () => {
    const secret = newSecret();
    const seen: Array<{ headers: Headers; body: string }> = [];
    const server = await serveHandler(async (request) => {
      seen.push({ headers: request.headers, body: await request.text() });
      return new Response(null, { status: 204 });
    });
    cleanups.push(server.close);
    const iam = writer({ url: `${server.url}/hooks`, secret, headers: { 'x-tenant': 'acme' } });
    const event = approved();

    expect(await iam.write(event)).toEqual({ status: 'written', reference: expect.stringMatching(/^msg_/) });

    const [request] = seen;
    expect(request?.headers.get('content-type')).toBe('application/cloudevents+json');
    expect(request?.headers.get('x-tenant')).toBe('acme');
    const verified = new Webhook(secret).verify(request?.body as string, {
      'webhook-id': request?.headers.get('webhook-id') as string,
      'webhook-timestamp': request?.headers.get('webhook-timestamp') as string,
      'webhook-signature': request?.headers.get('webhook-signature') as string,
    });
    expect(verified).toEqual(JSON.parse(JSON.stringify(event)));
    expect(() =>
      new Webhook(newSecret()).verify(request?.body as string, {
        'webhook-id': request?.headers.get('webhook-id') as string,
        'webhook-timestamp': request?.headers.get('webhook-timestamp') as string,
        'webhook-signature': request?.headers.get('webhook-signature') as string,
      }),
    ).toThrow();
    expect(iam.log()).toMatchObject([
      { endpoint: 'iam', eventId: 'req-1', attempt: 1, outcome: 'written', status: 204 },
    ]);
  });

  it('never sends the number-matching code of a verification request', async () => {
    const { receiver, url } = await receiverAt({ secret: `whsec_${'A'.repeat(43)}=` });
    const hook = createWebhookWriteBack({
      name: 'soc',
      url,
      secret: `whsec_${'A'.repeat(43)}=`,
      types: ['idrelay.auth.verification.requested'],
      timeoutMs: 5_000,
    });
    const event = createEvent(
      'idrelay.auth.verification.requested',
      {
        verificationId: 'v1',
        userId: 'dave',
        application: { id: 'erp' },
        numberMatch: { code: '42' },
        expiresAt: '2026-12-03T10:05:00Z',
      },
      { source: '/idrelay/relay', id: 'v1' },
    ) as IdentityEvent;
    expect(await hook.write(event)).toMatchObject({ status: 'written' });
    const [received] = await receiver.waitFor(1);
    expect(received?.event.data).toEqual({
      verificationId: 'v1',
      userId: 'dave',
      application: { id: 'erp' },
      numberMatch: {},
      expiresAt: '2026-12-03T10:05:00Z',
    });
    expect(JSON.stringify(received?.event)).not.toContain('"42"');
  });

  it('abandons an endpoint that does not answer at the timeout, as retryable', async () => {
    const hanging = await serveRaw(() => {});
    cleanups.push(hanging.close);
    const iam = writer({ url: hanging.url, secret: newSecret(), timeoutMs: 150 });
    const result = await iam.write(approved());
    expect(result).toMatchObject({ status: 'failed', code: 'ERR_WEBHOOK_TIMEOUT', retryable: true });
    expect(iam.log()).toMatchObject([{ outcome: 'retry', status: 0, code: 'ERR_WEBHOOK_TIMEOUT' }]);
  });

  it('reports a refused connection as retryable', async () => {
    const gone = await serveRaw(() => {});
    await gone.close();
    const result = await writer({ url: gone.url, secret: newSecret() }).write(approved());
    expect(result).toMatchObject({ status: 'failed', code: 'ERR_WEBHOOK_UNAVAILABLE', retryable: true });
  });

  it('refuses a redirect to another origin and follows a 307 on the same origin', async () => {
    const secret = newSecret();
    const { receiver, url: elsewhere } = await receiverAt({ secret });
    const redirecting = await serveRaw((request, response) => {
      const location = request.url === '/moved' ? '/final' : request.url === '/final' ? undefined : elsewhere;
      if (location === undefined) {
        response.writeHead(204).end();
        return;
      }
      response.writeHead(307, { location }).end();
    });
    cleanups.push(redirecting.close);

    const away = await writer({ url: `${redirecting.url}/away`, secret }).write(approved());
    expect(away).toMatchObject({ status: 'failed', code: 'ERR_WEBHOOK_REDIRECT', retryable: false });
    expect(receiver.requests).toEqual([]);

    const moved = await writer({ url: `${redirecting.url}/moved`, secret }).write(approved());
    expect(moved).toMatchObject({ status: 'written' });
  });

  it('holds the endpoint for its Retry-After, then sends', async () => {
    const secret = newSecret();
    const clock = manualClock();
    const { receiver, url } = await receiverAt({
      secret,
      answer: ({ attempt }) =>
        attempt === 1 ? new Response(null, { status: 429, headers: { 'retry-after': '120' } }) : undefined,
    });
    const iam = writer({ url, secret, clock });
    expect(await iam.write(approved())).toMatchObject({ status: 'failed', retryable: true });
    clock.advance(60_000);
    expect(await iam.write(approved('req-2'))).toMatchObject({ status: 'failed', code: 'ERR_WEBHOOK_UNAVAILABLE' });
    expect(receiver.requests).toHaveLength(1);
    clock.advance(61_000);
    expect(await iam.write(approved())).toMatchObject({ status: 'written' });
    expect(iam.log().map((a) => [a.outcome, a.status, a.attempt])).toEqual([
      ['retry', 429, 1],
      ['deferred', 0, 0],
      ['written', 204, 2],
    ]);
  });

  it('refuses unsafe or unusable configuration with ERR_WEBHOOK_CONFIG', () => {
    const secret = newSecret();
    const bad: Array<Partial<WebhookWriteBackOptions>> = [
      { url: 'http://iam.example.com/hooks' },
      { url: 'https://user:pw@iam.example.com/hooks' },
      { url: 'ftp://iam.example.com/hooks' },
      { url: 'https://iam.example.com/hooks', secret: 'not-a-secret' },
      { url: 'https://iam.example.com/hooks', secret: 'whsec_c2hvcnQ=' },
      { url: 'https://iam.example.com/hooks', types: ['idrelay.nope' as never] },
      { url: 'https://iam.example.com/hooks', headers: { 'webhook-signature': 'v1,forged' } },
      { url: 'https://iam.example.com/hooks', timeoutMs: 0 },
    ];
    for (const options of bad) {
      try {
        writer({ secret, ...options } as WebhookWriteBackOptions);
        expect.unreachable(`accepted ${JSON.stringify(options)}`);
      } catch (error) {
        expect(isIdrelayError(error, 'ERR_WEBHOOK_CONFIG')).toBe(true);
      }
    }
    expect(writer({ url: 'http://iam.internal/hooks', secret, allowInsecure: true }).url).toBe(
      'http://iam.internal/hooks',
    );
    expect(writer({ url: 'http://[::1]:8080/hooks', secret }).url).toBe('http://[::1]:8080/hooks');
  });
});

describe('webhooks on the relay outgoing path (SQLite)', () => {
  it('retries a 503 and delivers exactly once with the same webhook-id', async () => {
    const secret = newSecret();
    const { receiver, url } = await receiverAt({
      secret,
      answer: ({ attempt }) => (attempt === 1 ? new Response('busy', { status: 503 }) : undefined),
    });
    const webhooks = createWebhookSubscriptions({
      subscriptions: [{ name: 'directory', url, secret, types: ['idrelay.preference.changed'] }],
    });
    const { relay, store, clock } = await relayOn(join(dir, 'relay.db'), webhooks.writeBacks);

    await changePreferences(relay, 'dave');
    await relay.drain();
    expect(receiver.events).toEqual([]);
    clock.advance(60_000);
    await relay.drain();

    expect(receiver.events).toHaveLength(1);
    expect(receiver.events[0]?.event).toMatchObject({ type: 'idrelay.preference.changed', data: { userId: 'dave' } });
    expect(receiver.requests.map((r) => r.status)).toEqual([503, 204]);
    expect(new Set(receiver.requests.map((r) => r.webhookId)).size).toBe(1);
    expect(await store.outgoing.counts('directory')).toMatchObject({ delivered: 1, pending: 0, dead: 0 });
    expect(webhooks.log('directory').map((a) => [a.attempt, a.outcome, a.status])).toEqual([
      [1, 'retry', 503],
      [2, 'written', 204],
    ]);
  });

  it('dead-letters a permanent 400 at once and audits it', async () => {
    const secret = newSecret();
    const { receiver, url } = await receiverAt({
      secret,
      answer: () => new Response('{"error":"schema"}', { status: 400 }),
    });
    const { relay, store } = await relayOn(
      join(dir, 'relay.db'),
      (opened) =>
        createWebhookSubscriptions({
          subscriptions: [{ name: 'directory', url, secret, types: ['idrelay.preference.changed'] }],
          audit: opened.audit,
        }).writeBacks,
    );

    await changePreferences(relay, 'dave');
    await relay.drain();

    expect(receiver.events).toEqual([]);
    expect(receiver.requests).toHaveLength(1);
    expect(await store.outgoing.counts('directory')).toMatchObject({ delivered: 0, pending: 0, dead: 1 });
    const [dead] = await store.outgoing.list({ consumer: 'directory', status: 'dead', limit: 5 });
    expect(dead?.lastError).toMatchObject({ code: 'ERR_WEBHOOK_REFUSED' });
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.some((a) => a.action === 'outgoing.dead-lettered' && a.target === 'directory')).toBe(true);
    expect(audit.filter((a) => a.action === 'webhook.refused')).toMatchObject([
      { target: 'directory', details: { status: 400, code: 'ERR_WEBHOOK_REFUSED', attempt: 1 } },
    ]);
  });

  it('delivers once after a crash between the decision and the write-back', async () => {
    const secret = newSecret();
    const { receiver, url } = await receiverAt({ secret });
    const path = join(dir, 'relay.db');
    const subscription = { name: 'directory', url, secret, types: ['idrelay.preference.changed' as const] };

    const first = await relayOn(path, createWebhookSubscriptions({ subscriptions: [subscription] }).writeBacks);
    await changePreferences(first.relay, 'dave');
    // The process dies before its outgoing pump ran.
    await first.relay.close();
    await first.store.close();
    expect(receiver.requests).toEqual([]);

    const second = await relayOn(path, createWebhookSubscriptions({ subscriptions: [subscription] }).writeBacks);
    await second.relay.drain();
    await second.relay.drain();

    expect(receiver.events.map((e) => [e.event.type, (e.event.data as { userId: string }).userId])).toEqual([
      ['idrelay.preference.changed', 'dave'],
    ]);
    expect(receiver.requests).toHaveLength(1);
    expect(await second.store.outgoing.counts('directory')).toMatchObject({ delivered: 1, pending: 0 });
  });

  it('sends each subscription only the types it chose, and audits what was written when asked', async () => {
    const secret = newSecret();
    const a = await receiverAt({ secret });
    const b = await receiverAt({ secret });
    const path = join(dir, 'relay.db');
    const store = await createSqliteStore({ path });
    cleanups.push(() => store.close());
    const webhooks = createWebhookSubscriptions({
      subscriptions: [
        { name: 'prefs', url: a.url, secret, types: ['idrelay.preference.changed'] },
        { name: 'receipts', url: b.url, secret, types: ['idrelay.notification.delivered'] },
      ],
      audit: store.audit,
    });
    const relay = createRelay({
      store,
      directory: createMemoryDirectory({ users: [{ id: 'dave' }] }),
      transports: [],
      rules: [],
      scheduler: manualScheduler,
      writeBacks: webhooks.writeBacks,
    });
    cleanups.push(() => relay.close());
    await changePreferences(relay, 'dave');
    await relay.drain();
    expect(a.receiver.events).toHaveLength(1);
    expect(b.receiver.requests).toEqual([]);
    const audit = await store.audit.list({ limit: 100 });
    expect(audit.filter((e) => e.action === 'webhook.delivered')).toMatchObject([
      { target: 'prefs', details: { type: 'idrelay.preference.changed', status: 204, attempt: 1 } },
    ]);
  });
});

describe('createWebhookReceiver', () => {
  it('refuses a forged or tampered delivery and records a redelivery once', async () => {
    const secret = newSecret();
    const { receiver, url } = await receiverAt({ secret });
    const body = JSON.stringify(approved());
    const signer = new Webhook(secret);
    const at = new Date();
    const headers = {
      'content-type': 'application/cloudevents+json',
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signer.sign('msg_1', at, body),
    };
    const tampered = await fetch(url, { method: 'POST', headers, body: body.replace('bob', 'eve') });
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ code: 'ERR_WEBHOOK_SIGNATURE_INVALID' });
    const forged = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'webhook-signature': new Webhook(newSecret()).sign('msg_1', at, body) },
      body,
    });
    expect(forged.status).toBe(401);
    const plainJson = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    });
    expect(plainJson.status).toBe(415);
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(204);
    expect((await fetch(url, { method: 'POST', headers, body })).status).toBe(204);
    expect(receiver.events).toHaveLength(1);
    expect(receiver.refused).toBe(3);
  });
});

describe('redirects that would change the method', () => {
  it('dead-letters a 302 on the same origin instead of re-sending as GET', async () => {
    const secret = newSecret();
    const requests: string[] = [];
    const server = await serveRaw((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      if (request.url === '/hooks') response.writeHead(302, { location: '/elsewhere' }).end();
      else response.writeHead(204).end();
    });
    cleanups.push(server.close);
    const result = await writer({ url: `${server.url}/hooks`, secret }).write(approved());
    expect(result).toMatchObject({ status: 'failed', code: 'ERR_WEBHOOK_REDIRECT', retryable: false });
    expect(requests).toEqual(['POST /hooks']);
  });
});
