import { Agent } from 'node:https';
import type { DeviceTarget, PushMessage, Transport, WebPushSubscription } from '@idrelay/core';
import { startWebPushService, type WebPushService } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebPushTransport, generateVapidKeys } from '../src/index.js';
import type { WebPushTransportOptions } from '../src/options.js';

const vapid = { ...generateVapidKeys(), subject: 'mailto:ops@example.com' };
const message = (over: Partial<PushMessage> = {}): PushMessage => ({
  id: 'n1',
  title: 'Approve?',
  body: 'Alice asks for admin',
  urgency: 'high',
  ...over,
});
const fakeClock = (start = Date.UTC(2026, 10, 23, 12)) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};
const gate = () => {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
};
let n = 0;
const device = (subscription: WebPushSubscription): DeviceTarget => ({
  deviceId: `browser-${++n}`,
  platform: 'webpush',
  subscription,
});

let service: WebPushService;
const open: Transport[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  for (const a of agents.splice(0)) a.destroy();
  await service.close();
});

describe.each(['pool', 'agent'] as const)('sendEach (%s)', (mode) => {
  const create = (options: Partial<WebPushTransportOptions> = {}) => {
    let path: Partial<WebPushTransportOptions> = { ca: service.ca };
    if (mode === 'agent') {
      const agent = new Agent({ ca: service.ca, keepAlive: true });
      agents.push(agent);
      path = { agent };
    }
    const t = createWebPushTransport({ vapid, ...path, ...options });
    open.push(t);
    return t;
  };

  it('gives every subscription its own text, one result per request in input order', async () => {
    service = await startWebPushService();
    const transport = create();
    const people = ['Alice', 'Bruno', 'Chiara'];
    const targets = people.map(() => device(service.subscribe()));
    const gone = device(service.subscribe());
    if (gone.platform === 'webpush') service.unsubscribe(gone.subscription);

    const results = await transport.sendEach([
      ...people.map((name, i) => ({ message: message({ title: `Hello ${name}` }), target: targets[i]! })),
      { message: message(), target: gone },
      { message: message(), target: { deviceId: 'ios', platform: 'apns', token: 'abc' } },
    ]);

    expect(results.map((r) => [r.deviceId, r.status])).toEqual([
      ...targets.map((t) => [t.deviceId, 'delivered']),
      [gone.deviceId, 'invalid-token'],
      ['ios', 'rejected'],
    ]);
    people.forEach((name, i) => {
      const target = targets[i]!;
      const subscription = target.platform === 'webpush' ? target.subscription : undefined;
      expect(service.received(subscription)[0]?.json()).toMatchObject({ title: `Hello ${name}` });
    });
  });

  it('sends TTL from the remaining lifetime, and nothing for a request already expired', async () => {
    const clock = fakeClock();
    service = await startWebPushService({ clock });
    const transport = create({ clock, defaultTtlSeconds: 86_400 });
    const [byExpiry, byTtl, byDefault, late] = [1, 2, 3, 4].map(() => service.subscribe());
    const results = await transport.sendEach([
      { message: message({ ttlSeconds: 600 }), target: device(byExpiry!), expiresAt: clock.now() + 120_000 },
      { message: message({ ttlSeconds: 60 }), target: device(byTtl!), expiresAt: clock.now() + 3_600_000 },
      { message: message(), target: device(byDefault!), expiresAt: clock.now() + 7_200_000 },
      { message: message(), target: device(late!), expiresAt: clock.now() },
    ]);
    expect(results.map((r) => (r.status === 'delivered' ? r.status : r.code))).toEqual([
      'delivered',
      'delivered',
      'delivered',
      'ERR_DELIVERY_EXPIRED',
    ]);
    expect([byExpiry, byTtl, byDefault].map((s) => service.received(s)[0]?.ttl)).toEqual([120, 60, 7200]);
    expect(service.requests(late)).toEqual([]);
  });
});

describe('sendEach with the built-in pool', () => {
  it('judges expiry when the request is written: one that expires while it waits for a connection is not sent', async () => {
    const clock = fakeClock();
    service = await startWebPushService({ clock });
    const transport = createWebPushTransport({ vapid, ca: service.ca, clock, maxSockets: 1 });
    open.push(transport);
    const [busy, queued] = [service.subscribe(), service.subscribe()];
    const held = gate();
    service.script(busy, { until: held.promise });
    // Two sends: each has its own worker, so the second request waits in the pool's queue, not in its send.
    const first = transport.send(message(), [device(busy)]);
    const second = transport.sendEach([{ message: message(), target: device(queued), expiresAt: clock.now() + 1000 }]);
    await expect.poll(() => service.requests(busy).length).toBe(1);
    clock.advance(2000);
    held.open();
    expect((await first)[0]?.status).toBe('delivered');
    expect((await second)[0]).toMatchObject({ status: 'rejected', code: 'ERR_DELIVERY_EXPIRED' });
    expect(service.requests(queued)).toEqual([]);
  });

  it('a high send issued behind a backlog of normal sends takes the next free connection and finishes first', async () => {
    service = await startWebPushService();
    const transport = createWebPushTransport({ vapid, ca: service.ca, maxSockets: 2 });
    open.push(transport);
    const held = gate();
    // Five fan-out sends of 20 devices: two requests in flight, the rest queued for the two connections.
    const fanOuts = Array.from({ length: 5 }, () => {
      const targets = Array.from({ length: 20 }, () => {
        const subscription = service.subscribe();
        service.script(subscription, { until: held.promise });
        return device(subscription);
      });
      return transport.send(message({ title: 'Quarterly announcement' }), targets);
    });
    let backlogDone = false;
    const backlog = Promise.all(fanOuts).then((all) => {
      backlogDone = true;
      return all.flat();
    });
    await expect.poll(() => service.requests().length).toBe(2);

    const vip = service.subscribe();
    const verification = transport.send(message({ title: 'Was this you?' }), [device(vip)], { priority: 'high' });
    held.open();

    expect(await verification).toEqual([expect.objectContaining({ status: 'delivered' })]);
    expect(backlogDone).toBe(false);
    const order = service.requests().map((r) => r.subscriptionId);
    expect(order.indexOf(vip.endpoint.slice(vip.endpoint.lastIndexOf('/') + 1))).toBe(2);
    expect((await backlog).every((r) => r.status === 'delivered')).toBe(true);
  });
});
