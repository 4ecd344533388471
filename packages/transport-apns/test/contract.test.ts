import type { DeviceTarget } from '@idrelay/core';
import type { ApnsRecordedRequest } from '@idrelay/testkit';
import { transportContract } from '@idrelay/testkit/contracts';
import { device, world } from './fixtures.js';

const tokenOf = (target: DeviceTarget) => (target.platform === 'apns' ? target.token : '');

const decode = (request: ApnsRecordedRequest) => {
  const { aps, ...data } = request.payload as { aps: { alert?: { title?: string; body?: string } } };
  return { title: aps.alert?.title, body: aps.alert?.body, data: data as Record<string, string> };
};

transportContract({
  name: 'apns',
  payloadTooLargeCode: 'ERR_APNS_PAYLOAD_TOO_LARGE',
  retryAfterMs: 7000,
  providerReasons: {
    'invalid-token': /^Unregistered$/,
    'retry-after': /^TooManyRequests$/,
    rejected: /^TopicDisallowed$/,
  },
  async setup() {
    const w = await world();
    return {
      transport: w.transport,
      createTransport: () => w.create(),
      target(kind) {
        const target = device();
        if (kind === 'invalid-token') {
          w.standIn.script(target.token, { status: 410, reason: 'Unregistered', times: Infinity });
        } else if (kind === 'retry-after') {
          w.standIn.script(target.token, {
            status: 429,
            reason: 'TooManyRequests',
            retryAfterSeconds: 7,
            times: Infinity,
          });
        } else if (kind === 'rejected') {
          w.standIn.script(target.token, { status: 400, reason: 'TopicDisallowed', times: Infinity });
        }
        return target;
      },
      received: (target) =>
        w.standIn
          .requestsFor(tokenOf(target))
          .filter((r) => r.status === 200)
          .map(decode),
      attempts: (target) => w.standIn.requestsFor(tokenOf(target)).length,
      lastPush(target) {
        const last = w.standIn
          .requestsFor(tokenOf(target))
          .filter((r) => r.status === 200)
          .at(-1);
        if (last === undefined) return undefined;
        const expiration = last.headers['apns-expiration'];
        const collapseId = last.headers['apns-collapse-id'];
        return {
          ...(expiration === undefined
            ? {}
            : {
                lifetimeSeconds: expiration === '0' ? 0 : Number(expiration) - Math.floor(last.receivedAt / 1000),
              }),
          collapseIds: collapseId === undefined ? [] : [collapseId],
        };
      },
      openConnections: () => w.standIn.openSessions(),
      oversizedMessage: () => ({ id: 'big', urgency: 'normal', body: 'x'.repeat(5000) }),
      teardown: () => w.close(),
    };
  },
});
