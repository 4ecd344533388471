import type { PushMessage } from '@idrelay/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alert, device, fakeClock, gate, TOPIC, world } from './fixtures.js';

let w: Awaited<ReturnType<typeof world>>;
afterEach(() => w.close());

const aps = (payload: unknown) => (payload as { aps: { alert?: { title?: string; body?: string } } }).aps;

describe('sendEach: personalised pushes in one batch', () => {
  it('gives every device its own text, one result per request in input order', async () => {
    w = await world();
    const people = ['Alice', 'Bruno', 'Chiara', 'Dmitri'];
    const devices = people.map(() => device());
    const gone = device();
    w.standIn.script(gone.token, { status: 410, reason: 'Unregistered' });
    const requests = [
      ...people.map((name, i) => ({
        message: alert({ title: `Hello ${name}`, body: `Approve your sign-in, ${name}?` }),
        target: devices[i]!,
      })),
      { message: alert({ title: 'Hello Eve' }), target: gone },
      { message: alert(), target: { deviceId: 'pixel-1', platform: 'fcm' as const, token: 'fcm-token' } },
    ];

    const results = await w.transport.sendEach(requests);

    expect(results.map((r) => [r.deviceId, r.status])).toEqual([
      ...devices.map((d) => [d.deviceId, 'delivered']),
      [gone.deviceId, 'invalid-token'],
      ['pixel-1', 'rejected'],
    ]);
    expect(results[5]).toMatchObject({ code: 'ERR_TRANSPORT_PLATFORM_MISMATCH' });
    people.forEach((name, i) => {
      const [request] = w.standIn.requestsFor(devices[i]!.token);
      expect(aps(request?.payload).alert).toEqual({ title: `Hello ${name}`, body: `Approve your sign-in, ${name}?` });
    });
  });

  it('encodes a message shared by many requests once, not once per device', async () => {
    w = await world();
    let reads = 0;
    const counted = (): PushMessage =>
      new Proxy(alert(), {
        get(target, key, receiver) {
          if (key === 'title') reads++;
          return Reflect.get(target, key, receiver);
        },
      });
    await w.transport.sendEach([{ message: counted(), target: device() }]);
    const perEncoding = reads;
    reads = 0;
    const shared = counted();
    const results = await w.transport.sendEach(
      Array.from({ length: 100 }, () => ({ message: shared, target: device() })),
    );
    expect(results.every((r) => r.status === 'delivered')).toBe(true);
    expect(reads).toBe(perEncoding);
  });

  it('send() is sendEach with one message: same results, same wire format', async () => {
    w = await world();
    const [a, b] = [device(), device({ data: { actionToken: 'tok-b' } })];
    const viaSend = await w.transport.send(alert({ collapseId: 'req-42' }), [a, b]);
    const [c, d] = [device(), device({ data: { actionToken: 'tok-b' } })];
    const message = alert({ collapseId: 'req-42' });
    const viaSendEach = await w.transport.sendEach([
      { message, target: c },
      { message, target: d },
    ]);
    expect(viaSend.map((r) => r.status)).toEqual(viaSendEach.map((r) => r.status));
    const wire = (token: string) => {
      const r = w.standIn.requestsFor(token)[0];
      return { payload: r?.payload, collapse: r?.headers['apns-collapse-id'], priority: r?.headers['apns-priority'] };
    };
    expect(wire(a.token)).toEqual(wire(c.token));
    expect(wire(b.token)).toEqual(wire(d.token));
  });
});

describe('expiry', () => {
  it('sends apns-expiration from the remaining lifetime: the smaller of ttlSeconds and what is left', async () => {
    const clock = fakeClock();
    const nowS = Math.floor(clock.now() / 1000);
    w = await world({ standIn: { clock }, transport: { clock } });
    const [shortByExpiry, shortByTtl, unbounded, nowOrNever] = [device(), device(), device(), device()];
    await w.transport.sendEach([
      { message: alert({ ttlSeconds: 600 }), target: shortByExpiry, expiresAt: clock.now() + 120_000 },
      { message: alert({ ttlSeconds: 60 }), target: shortByTtl, expiresAt: clock.now() + 3_600_000 },
      { message: alert(), target: unbounded },
      { message: alert({ ttlSeconds: 0 }), target: nowOrNever, expiresAt: clock.now() + 3_600_000 },
    ]);
    const expiration = (d: { token: string }) => w.standIn.requestsFor(d.token)[0]?.headers['apns-expiration'];
    expect(expiration(shortByExpiry)).toBe(String(nowS + 120));
    expect(expiration(shortByTtl)).toBe(String(nowS + 60));
    expect(expiration(unbounded)).toBeUndefined();
    expect(expiration(nowOrNever)).toBe('0');
  });

  it('refuses a request whose expiresAt has passed with ERR_DELIVERY_EXPIRED, and sends nothing for it', async () => {
    const clock = fakeClock();
    w = await world({ standIn: { clock }, transport: { clock } });
    const [late, onTime] = [device(), device()];
    const results = await w.transport.sendEach([
      { message: alert(), target: late, expiresAt: clock.now() },
      { message: alert(), target: onTime, expiresAt: clock.now() + 1 },
    ]);
    expect(results).toEqual([
      expect.objectContaining({ deviceId: late.deviceId, status: 'rejected', code: 'ERR_DELIVERY_EXPIRED' }),
      expect.objectContaining({ deviceId: onTime.deviceId, status: 'delivered' }),
    ]);
    expect(w.standIn.requestsFor(late.token)).toHaveLength(0);
  });

  it('judges expiry when the request goes out: one that expires while queued is never sent', async () => {
    const clock = fakeClock();
    w = await world({ standIn: { clock }, transport: { clock, concurrency: 1 } });
    await w.transport.send(alert(), [device()]);
    const [busy, queued] = [device(), device()];
    const held = gate();
    w.standIn.script(busy.token, { until: held.promise });
    const pending = w.transport.sendEach([
      { message: alert(), target: busy },
      { message: alert(), target: queued, expiresAt: clock.now() + 1000 },
    ]);
    await vi.waitFor(() => expect(w.standIn.requestsFor(busy.token)).toHaveLength(1), { interval: 2 });
    clock.advance(2000);
    held.open();
    expect((await pending).map((r) => r.status === 'rejected' && r.code)).toEqual([false, 'ERR_DELIVERY_EXPIRED']);
    expect(w.standIn.requestsFor(queued.token)).toHaveLength(0);
  });
});

describe('identifiers fit APNs limits', () => {
  it('never sends a control character: a NUL in a collapse id is fitted, a bad topic refused before sending', async () => {
    w = await world();
    const [ok, badTopic] = [device(), device({ topic: `${TOPIC}\u0000` })];
    const results = await w.transport.sendEach([
      { message: alert({ collapseId: 'req\u000042', threadId: 'thread\nid' }), target: ok },
      { message: alert(), target: badTopic },
    ]);
    expect(results[0]).toMatchObject({ status: 'delivered' });
    expect(results[1]).toMatchObject({ status: 'rejected', code: 'ERR_INVALID_ARGUMENT' });
    expect(w.standIn.requestsFor(ok.token)[0]?.headers['apns-collapse-id']).toMatch(/^[\w-]{43}$/);
    expect(w.standIn.requestsFor(badTopic.token)).toHaveLength(0);
  });
});

describe('priority', () => {
  it('a high send issued behind a large normal backlog goes out at the next free slot and finishes first', async () => {
    w = await world({ transport: { concurrency: 2, connections: 1 } });
    await w.transport.send(alert(), [device()]); // the connection has accepted the provider token
    const held = gate();
    const backlog = Array.from({ length: 200 }, () => device());
    for (const d of backlog) w.standIn.script(d.token, { until: held.promise });
    let backlogDone = false;
    const fanOut = w.transport.send(alert({ title: 'Quarterly announcement' }), backlog).then((r) => {
      backlogDone = true;
      return r;
    });
    await vi.waitFor(() => expect(w.standIn.stats().activeStreams).toBe(2), { interval: 2 });

    const vip = device();
    const verification = w.transport.send(alert({ title: 'Was this you?' }), [vip], { priority: 'high' });
    held.open();

    expect(await verification).toEqual([expect.objectContaining({ status: 'delivered' })]);
    expect(backlogDone).toBe(false);
    // One request before the backlog: the warm-up; two in flight when the verification arrived; then it.
    expect(w.standIn.requests.findIndex((r) => r.token === vip.token)).toBe(3);
    expect((await fanOut).every((r) => r.status === 'delivered')).toBe(true);
  });
});
