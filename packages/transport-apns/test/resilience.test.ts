import { isIdrelayError } from '@idrelay/core';
import { createTestCertificate, startApnsStandIn } from '@idrelay/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApnsTransport } from '../src/index.js';
import { alert, device, KEY_ID, makeKeyPair, TEAM_ID, TOPIC, world } from './fixtures.js';

const credentials = () => ({
  signingKey: makeKeyPair().privateKey,
  teamId: TEAM_ID,
  keyId: KEY_ID,
  defaultTopic: TOPIC,
});

let w: Awaited<ReturnType<typeof world>>;
afterEach(() => w.close());

describe('timeouts, resets and closing', () => {
  it('a request with no answer within timeoutMs → retry-after ERR_TRANSPORT_TIMEOUT, not retried', async () => {
    w = await world({ transport: { timeoutMs: 250 } });
    await w.transport.send(alert(), [device()]);
    const d = device();
    w.standIn.script(d.token, { fault: 'hang', times: Infinity });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' });
    expect(w.standIn.requestsFor(d.token)).toHaveLength(1);
  });

  it('an answer slower than the timeout counts as a timeout; a fast one on the same connection still lands', async () => {
    w = await world({ transport: { timeoutMs: 250 } });
    await w.transport.send(alert(), [device()]);
    const slow = device();
    const fast = device();
    w.standIn.script(slow.token, { delayMs: 5000 });
    const results = await w.transport.send(alert(), [slow, fast]);
    expect(results.map((r) => r.status)).toEqual(['retry-after', 'delivered']);
  });

  it.each(['reset', 'drop', 'goaway'] as const)(
    'a %s is retried on a healthy connection and delivered',
    async (fault) => {
      w = await world();
      const d = device();
      w.standIn.script(d.token, { fault });
      const [result] = await w.transport.send(alert(), [d]);
      expect(result).toMatchObject({ status: 'delivered' });
      expect(w.standIn.requestsFor(d.token)).toHaveLength(2);
    },
  );

  it('network failures past the attempts → retry-after ERR_TRANSPORT_NETWORK', async () => {
    w = await world({ transport: { retry: { attempts: 2, baseDelayMs: 1 } } });
    const d = device();
    w.standIn.script(d.token, { fault: 'reset', times: Infinity });
    const [result] = await w.transport.send(alert(), [d]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
  });

  it('an unreachable origin → retry-after ERR_TRANSPORT_NETWORK', async () => {
    w = await world();
    const port = w.standIn.port;
    await w.standIn.close();
    const t = w.create({ origin: `https://localhost:${port}`, retry: { attempts: 2, baseDelayMs: 1 } });
    const [result] = await t.send(alert(), [device()]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
  });

  it('a server certificate it does not trust → retry-after ERR_TRANSPORT_NETWORK, never an unverified send', async () => {
    w = await world();
    const t = w.create({ ca: undefined, retry: { attempts: 1 } });
    const [result] = await t.send(alert(), [device()]);
    expect(result).toMatchObject({ status: 'retry-after', code: 'ERR_TRANSPORT_NETWORK' });
    expect(w.standIn.requests).toHaveLength(0);
  });

  it('an aborted send answers the devices still in flight with retry-after ERR_TRANSPORT_TIMEOUT', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { fault: 'hang' });
    const controller = new AbortController();
    const pending = w.transport.send(alert(), [d], { signal: controller.signal });
    await vi.waitFor(() => expect(w.standIn.requestsFor(d.token)).toHaveLength(1), { interval: 2 });
    controller.abort();
    await expect(pending).resolves.toEqual([
      expect.objectContaining({ status: 'retry-after', code: 'ERR_TRANSPORT_TIMEOUT' }),
    ]);
  });

  it('one signal for a large batch: every device is answered, and no listener-leak warning', async () => {
    w = await world({ transport: { concurrency: 8 } });
    await w.transport.send(alert(), [device()]);
    const devices = Array.from({ length: 60 }, () => device());
    for (const d of devices) w.standIn.script(d.token, { fault: 'hang' });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    const pending = w.transport.send(alert(), devices, { signal: controller.signal });
    await vi.waitFor(() => expect(w.standIn.stats().activeStreams).toBe(8), { interval: 2 });
    controller.abort();
    const results = await pending;
    process.off('warning', onWarning);
    expect(results.every((r) => r.status === 'retry-after' && r.code === 'ERR_TRANSPORT_TIMEOUT')).toBe(true);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('aborting while a device waits to retry answers it with ERR_TRANSPORT_TIMEOUT at once', async () => {
    let retrying!: () => void;
    const waiting = new Promise<void>((resolve) => {
      retrying = resolve;
    });
    const logger = { debug: () => retrying(), info() {}, warn() {}, error() {} };
    w = await world({
      transport: {
        logger,
        random: () => 0.5,
        retry: { attempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000, budgetMs: 120_000 },
      },
    });
    const d = device();
    w.standIn.script(d.token, { status: 503, reason: 'ServiceUnavailable' });
    const controller = new AbortController();
    const pending = w.transport.send(alert(), [d], { signal: controller.signal });
    await waiting;
    controller.abort();
    await expect(pending).resolves.toEqual([
      expect.objectContaining({
        status: 'retry-after',
        code: 'ERR_TRANSPORT_TIMEOUT',
        reason: 'send aborted after ServiceUnavailable',
      }),
    ]);
  });

  it('close() while a request hangs ends it and frees the connection', async () => {
    w = await world();
    const d = device();
    w.standIn.script(d.token, { fault: 'hang' });
    const pending = w.transport.send(alert(), [d]);
    await vi.waitFor(() => expect(w.standIn.requestsFor(d.token)).toHaveLength(1), { interval: 2 });
    await w.transport.close();
    const [result] = await pending;
    expect(result?.status).toBe('retry-after');
    await vi.waitFor(() => expect(w.standIn.openSessions()).toBe(0), { interval: 2 });
    const error = await w.transport.send(alert(), [d]).catch((e: unknown) => e);
    expect(isIdrelayError(error, 'ERR_TRANSPORT_CLOSED')).toBe(true);
  });
});

describe('connections and concurrency', () => {
  it('never has more than `concurrency` requests in flight at the stand-in', async () => {
    w = await world({ transport: { concurrency: 5, connections: 2 } });
    const devices = Array.from({ length: 40 }, () => device());
    for (const d of devices) w.standIn.script(d.token, { delayMs: 5 });
    const results = await w.transport.send(alert(), devices);
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    expect(w.standIn.stats().peakStreams).toBe(5);
  });

  it('reuses its connections across sends, up to `connections`', async () => {
    w = await world({ transport: { connections: 3 } });
    for (let i = 0; i < 5; i++) {
      const devices = Array.from({ length: 50 }, () => device());
      await w.transport.send(alert(), devices);
    }
    expect(w.standIn.stats().sessionsAccepted).toBeLessThanOrEqual(3);
    expect(w.standIn.openSessions()).toBeLessThanOrEqual(3);
  });

  it('keeps to the stream limit the server announces', async () => {
    w = await world({ standIn: { maxConcurrentStreams: 3 }, transport: { connections: 1, concurrency: 50 } });
    await w.transport.send(alert(), [device()]);
    const devices = Array.from({ length: 30 }, () => device());
    for (const d of devices) w.standIn.script(d.token, { delayMs: 5 });
    const results = await w.transport.send(alert(), devices);
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    expect(w.standIn.stats().peakStreams).toBeLessThanOrEqual(3);
  });

  it('sends one stream on a new connection until APNs has accepted the provider token', async () => {
    w = await world({ transport: { connections: 1, concurrency: 50 } });
    const devices = Array.from({ length: 10 }, () => device());
    for (const d of devices) w.standIn.script(d.token, { delayMs: 5 });
    await w.transport.send(alert(), devices);
    const connectionOfFirst = w.standIn.requests[0]?.connection;
    expect(w.standIn.requests.every((r) => r.connection === connectionOfFirst)).toBe(true);
    // The first request ran alone; later ones overlapped.
    expect(w.standIn.stats().peakStreams).toBeGreaterThan(1);
  });

  it('sends results in input order for a large mixed batch', async () => {
    w = await world({ transport: { concurrency: 16 } });
    const devices = Array.from({ length: 200 }, (_, i) => device(i % 7 === 0 ? { token: `bad-${i}` } : {}));
    const results = await w.transport.send(alert(), devices);
    expect(results.map((r) => r.deviceId)).toEqual(devices.map((d) => d.deviceId));
    expect(results.filter((r) => r.status === 'invalid-token')).toHaveLength(29);
  });

  it('routes each device to its environment’s host, with its own connections', async () => {
    // One certificate for both: test certificates share a subject name, so trusting two of them confuses OpenSSL.
    const certificate = createTestCertificate();
    w = await world({ standIn: { certificate } });
    const sandbox = await startApnsStandIn({ publicKey: w.publicKey, teamId: TEAM_ID, keyId: KEY_ID, certificate });
    try {
      const t = w.create({
        origin: { production: w.standIn.origin, sandbox: sandbox.origin },
        environment: 'production',
      });
      const prod = device();
      const dev = device({ environment: 'sandbox' });
      const results = await t.send(alert(), [prod, dev]);
      expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      expect(w.standIn.requests.map((r) => r.token)).toEqual([prod.token]);
      expect(sandbox.requests.map((r) => r.token)).toEqual([dev.token]);
      await t.close();
    } finally {
      await sandbox.close();
    }
  });

  it('is named apns:<defaultTopic> unless given a name', () => {
    expect(createApnsTransport(credentials()).name).toBe(`apns:${TOPIC}`);
    expect(createApnsTransport({ ...credentials(), name: 'apns:sandbox-eu' }).name).toBe('apns:sandbox-eu');
  });

  it('refuses an origin that is not https://host[:port]', () => {
    expect(() => createApnsTransport({ ...credentials(), origin: 'http://localhost:1' })).toThrowError(
      expect.objectContaining({ code: 'ERR_TRANSPORT_CONFIG' }),
    );
  });
});
