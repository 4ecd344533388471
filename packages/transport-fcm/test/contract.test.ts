/**
 * The shared transport contract, against the FCM stand-in over TLS. It runs on firebase-admin's HTTP/1.1 path
 * (`legacyHttpTransport`) because the contract counts open connections: there each transport owns a keep-alive
 * agent that `close()` destroys, whereas HTTP/2 `sendEach` opens and closes a session per call, leaving nothing
 * to count between sends. The HTTP/2 path has its own tests in http2-stand-in.test.ts.
 */
import type { DeviceTarget } from '@idrelay/core';
import { redirectFirebaseToStandIn, startFcmStandIn } from '@idrelay/testkit';
import { transportContract } from '@idrelay/testkit/contracts';
import { createFcmTransport } from '../src/index.js';
import { fakeSleep } from './fixtures.js';

const tokenOf = (target: DeviceTarget) => (target.platform === 'fcm' ? target.token : '');

transportContract({
  name: 'fcm',
  payloadTooLargeCode: 'ERR_FCM_PAYLOAD_TOO_LARGE',
  retryAfterMs: 7000,
  providerReasons: {
    'invalid-token': /^messaging\/registration-token-not-registered: /,
    'retry-after': /^messaging\/message-rate-exceeded: /,
    rejected: /^messaging\/mismatched-credential: /,
  },
  async setup() {
    const standIn = await startFcmStandIn();
    const redirect = redirectFirebaseToStandIn(standIn);
    const create = () =>
      createFcmTransport({
        projectId: standIn.projectId,
        serviceAccount: standIn.serviceAccount,
        legacyHttpTransport: true,
        httpAgent: () => redirect.createHttpAgent(),
        sleep: fakeSleep().sleep,
      });
    let n = 0;
    return {
      transport: create(),
      createTransport: create,
      target(kind) {
        const token = `tok-${kind}-${n++}`;
        if (kind === 'invalid-token') standIn.fail(token, { kind: 'unregistered' });
        if (kind === 'retry-after') standIn.fail(token, { kind: 'quota-exceeded', retryAfterSeconds: 7 });
        if (kind === 'rejected') standIn.fail(token, { kind: 'sender-id-mismatch' });
        return { deviceId: `dev-${token}`, platform: 'fcm', token };
      },
      received: (target) =>
        standIn.messages
          .filter((m) => m.message.token === tokenOf(target))
          .map(({ message }) => {
            const notification = message.notification as { title?: string; body?: string } | undefined;
            return {
              title: notification?.title,
              body: notification?.body,
              data: (message.data ?? {}) as Record<string, string>,
            };
          }),
      attempts: (target) => standIn.attempts(tokenOf(target)),
      lastPush(target) {
        const last = standIn.messages.filter((m) => m.message.token === tokenOf(target)).at(-1)?.message;
        if (last === undefined) return undefined;
        type Block = { ttl?: string; collapse_key?: string; headers?: Record<string, string> } | undefined;
        const android = last.android as Block;
        const ttl = android?.ttl;
        const collapseIds = [
          android?.collapse_key,
          (last.apns as Block)?.headers?.['apns-collapse-id'],
          (last.webpush as Block)?.headers?.Topic,
        ].filter((id): id is string => id !== undefined);
        // FCM's wire form of a protobuf Duration: "120s".
        return { ...(ttl === undefined ? {} : { lifetimeSeconds: Number.parseFloat(ttl) }), collapseIds };
      },
      openConnections: () => standIn.openConnections(),
      oversizedMessage: () => ({ id: 'big', urgency: 'normal', body: 'x'.repeat(5000) }),
      async teardown() {
        redirect.restore();
        await standIn.close();
      },
    };
  },
});
