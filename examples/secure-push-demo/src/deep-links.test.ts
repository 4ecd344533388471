/**
 * A required action's link, end to end: an event with `data.url` goes through the relay's default rules and
 * templates, our real transports and the testkit's stand-ins, and each platform's payload carries it where apps
 * look for it — or not at all when it is not a safe deep link.
 */
import { createEvent } from '@idrelay/core/events';
import { createRelay, defaultRules, type Relay } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory } from '@idrelay/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APNS_TOPIC, type Sandbox, startSandbox } from './sandbox.js';

let sandbox: Sandbox;
let relay: Relay;
let close: () => Promise<void>;
const APNS_TOKEN = 'ab'.repeat(32);
const FCM_TOKEN = 'fcm-token-dana';

beforeAll(async () => {
  sandbox = await startSandbox();
  const store = await createSqliteStore({ path: ':memory:' });
  relay = createRelay({
    store,
    transports: sandbox.transports,
    directory: createMemoryDirectory({ users: [{ id: 'dana', attributes: {} }] }),
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }),
    scheduler: { setTimeout: () => undefined, clearTimeout: () => {} },
  });
  await relay.devices.register({ userId: 'dana', deviceId: 'iphone', platform: 'apns', token: APNS_TOKEN });
  await relay.devices.register({ userId: 'dana', deviceId: 'pixel', platform: 'fcm', token: FCM_TOKEN });
  const subscription = sandbox.webpush.subscribe();
  await relay.devices.register({ userId: 'dana', deviceId: 'browser', platform: 'webpush', subscription });
  close = async () => {
    await relay.close();
    await store.close();
    await sandbox.close();
  };
  return undefined;
}, 30_000);
afterAll(() => close());

const reset = (id: string, url: string) =>
  createEvent(
    'idrelay.account.password.reset-required',
    { userId: 'dana', reason: 'compromise', url },
    { source: 'https://idp.example.com', id },
  );

function lastPayloads() {
  const apns = sandbox.apns.requestsFor(APNS_TOKEN).at(-1)?.payload as Record<string, unknown>;
  const fcm = sandbox.fcm.messages.filter((m) => m.message.token === FCM_TOKEN).at(-1)?.message as {
    data?: Record<string, string>;
    // firebase-admin sends webpush options in lowerCamelCase, which FCM's proto3 JSON accepts.
    webpush?: { fcmOptions?: { link?: string } };
  };
  const web = sandbox.webpush.received().at(-1)?.json<{ url?: string; data: Record<string, string> }>();
  return { apns, fcm, web };
}

it('carries a password reset link to APNs, FCM and Web Push as each app expects it', async () => {
  const url = 'https://portal.example.com/password?reason=compromise';
  await relay.ingest(reset('r-1', url));
  await relay.drain();
  const { apns, fcm, web } = lastPayloads();
  expect(apns).toMatchObject({ url, aps: { alert: { title: 'Password change required' } } });
  expect(sandbox.apns.requestsFor(APNS_TOKEN).at(-1)?.headers['apns-topic']).toBe(APNS_TOPIC);
  expect(fcm.data).toMatchObject({ url, type: 'idrelay.account.password.reset-required' });
  expect(fcm.webpush?.fcmOptions?.link).toBe(url);
  expect(web).toMatchObject({ url, data: { url } });
}, 30_000);

it('sends the push without a link when the event’s link is not a safe deep link', async () => {
  await relay.ingest(reset('r-2', 'javascript:alert(document.cookie)'));
  await relay.drain();
  const { apns, fcm, web } = lastPayloads();
  expect(sandbox.webpush.received()).toHaveLength(2);
  expect(apns).not.toHaveProperty('url');
  expect(fcm.data).not.toHaveProperty('url');
  expect(fcm.webpush).not.toHaveProperty('fcmOptions');
  expect(web).not.toHaveProperty('url');
  expect(web?.data).not.toHaveProperty('url');
  expect(JSON.stringify({ apns, fcm, web })).not.toContain('javascript');
}, 30_000);
