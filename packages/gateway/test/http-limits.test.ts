/** Rate limits, graceful close, and serving over a real socket. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestGateway, deniedEvent, makeDevice, type TestGateway } from './http-support.js';

let t: TestGateway | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ingest = (g: TestGateway, id: string) =>
  g.request('/v1/events', {
    method: 'POST',
    headers: { authorization: `Bearer ${g.keys.ingest}`, 'content-type': 'application/json' },
    body: JSON.stringify(deniedEvent(id)),
  });

describe('rate limits', () => {
  it('ingest: a token bucket per API key, 429 with Retry-After, refilled with time', async () => {
    const g = await createTestGateway({ config: { limits: { ingest: { perSecond: 2, burst: 3 } } } });
    t = g;
    for (const id of ['r-1', 'r-2', 'r-3']) expect((await ingest(g, id)).status).toBe(202);
    const limited = await ingest(g, 'r-4');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ code: 'ERR_HTTP_RATE_LIMITED', retryAfterMs: 500 });
    expect(await g.store.events.get('https://iam.example.com#r-4')).toBeUndefined();
    // Another key has its own bucket.
    const other = await g.request('/v1/events', {
      method: 'POST',
      headers: { authorization: `Bearer ${g.keys.all}`, 'content-type': 'application/json' },
      body: JSON.stringify(deniedEvent('r-5')),
    });
    expect(other.status).toBe(202);
    g.clock.advance(500);
    expect((await ingest(g, 'r-4')).status).toBe(202);
  });

  it('verifications: a bucket per user at the HTTP layer, besides the engine’s push limit', async () => {
    const g = await createTestGateway({ config: { limits: { verifications: { perMinute: 1, burst: 2 } } } });
    t = g;
    await g.enrol('alice', makeDevice('alice-pixel'));
    await g.enrol('bob', makeDevice('bob-pixel'));
    const start = (userId: string) =>
      g.request('/v1/verifications', {
        method: 'POST',
        headers: { authorization: `Bearer ${g.keys.ingest}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId, application: 'Payroll' }),
      });
    expect((await start('alice')).status).toBe(201);
    expect((await start('alice')).status).toBe(201);
    const limited = await start('alice');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(((await limited.json()) as { code: string }).code).toBe('ERR_HTTP_RATE_LIMITED');
    expect((await start('bob')).status).toBe(201);
  });
});

describe('close()', () => {
  it('refuses new requests with 503 and waits for the ones in flight', async () => {
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const g = await createTestGateway({
      options: {
        readiness: {
          slow: () => {
            entered();
            return new Promise<void>((resolve) => {
              release = resolve;
            });
          },
        },
      },
    });
    t = g;
    const inFlight = g.request('/readyz');
    await inside;
    let closed = false;
    const closing = g.gateway.close().then(() => {
      closed = true;
    });
    const refused = await g.request('/healthz');
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('ERR_HTTP_UNAVAILABLE');
    expect(closed).toBe(false);
    release();
    expect((await inFlight).status).toBe(200);
    await closing;
    expect(closed).toBe(true);
  });
});

describe('close() at the deadline', () => {
  it('resolves after shutdownTimeoutMs even when a request never finishes', async () => {
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const g = await createTestGateway({
      config: { shutdownTimeoutMs: 5_000 },
      options: {
        readiness: {
          stuck: () => {
            entered();
            return new Promise<void>(() => {});
          },
        },
      },
    });
    t = g;
    void g.request('/readyz');
    await inside;
    vi.useFakeTimers();
    try {
      let closed = false;
      const closing = g.gateway.close().then(() => {
        closed = true;
      });
      await vi.advanceTimersByTimeAsync(4_999);
      expect(closed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await closing;
      expect(closed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('listen()', () => {
  it('serves over HTTP on a free port and stops on close()', async () => {
    const g = await createTestGateway();
    t = g;
    const { url, port } = await g.gateway.listen({ port: 0, host: '127.0.0.1' });
    expect(port).toBeGreaterThan(0);
    const health = await fetch(`${url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const posted = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.keys.ingest}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(deniedEvent('net-1')),
    });
    expect(posted.status).toBe(202);
    // Bodies with a Content-Length are read whole from the socket; one over the limit is refused by its header.
    const oversized = await fetch(`${url}/v1/devices/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(17 * 1024) }),
    });
    expect(oversized.status).toBe(413);
    expect(((await oversized.json()) as { code: string }).code).toBe('ERR_HTTP_BODY_TOO_LARGE');
    const unknownCode = await fetch(`${url}/v1/devices/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'no-such-code', platform: 'apns', token: 'a'.repeat(64) }),
    });
    expect(unknownCode.status).toBeGreaterThanOrEqual(400);
    expect(unknownCode.status).toBeLessThan(500);
    await g.gateway.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
