import type { DeviceTarget, WebPushSubscription } from '@idrelay/core';
import { startWebPushService } from '@idrelay/testkit';
import { transportContract } from '@idrelay/testkit/contracts';
import { createWebPushTransport, generateVapidKeys } from '../src/index.js';

const vapid = { ...generateVapidKeys(), subject: 'mailto:ops@example.com' };
let counter = 0;

transportContract({
  name: 'webpush',
  payloadTooLargeCode: 'ERR_WEBPUSH_PAYLOAD_TOO_LARGE',
  retryAfterMs: 7000,
  providerReasons: { 'invalid-token': /^410 /, 'retry-after': /^429 /, rejected: /^413 / },
  async setup() {
    const service = await startWebPushService();
    const create = () => createWebPushTransport({ vapid, ca: service.ca });
    const subscriptionOf = (t: DeviceTarget): WebPushSubscription => {
      if (t.platform !== 'webpush') throw new Error('not a web push target');
      return t.subscription;
    };
    return {
      transport: create(),
      createTransport: create,
      target(kind) {
        const subscription = service.subscribe();
        if (kind === 'invalid-token') service.unsubscribe(subscription);
        if (kind === 'retry-after') service.script(subscription, { status: 429, retryAfter: 7 });
        if (kind === 'rejected') service.script(subscription, { status: 413 });
        return { deviceId: `browser-${++counter}`, platform: 'webpush', subscription };
      },
      received: (t) =>
        service.received(subscriptionOf(t)).map((push) => {
          const { title, body, data } = push.json<{ title?: string; body?: string; data: Record<string, string> }>();
          return { title, body, data };
        }),
      attempts: (t) => service.requests(subscriptionOf(t)).length,
      lastPush(t) {
        const last = service.received(subscriptionOf(t)).at(-1);
        if (last === undefined) return undefined;
        return { lifetimeSeconds: last.ttl, collapseIds: last.topic === undefined ? [] : [last.topic] };
      },
      openConnections: () => service.openConnections(),
      oversizedMessage: () => ({ id: 'too-big', urgency: 'normal', title: 'Big', body: 'x'.repeat(4000) }),
      teardown: () => service.close(),
    };
  },
});
