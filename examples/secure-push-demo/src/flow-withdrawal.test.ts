/**
 * Withdrawal of a decided request's pushes, observed at the stand-ins: an access approval goes to three approvers
 * (APNs, FCM, Web Push) through our real transports; when the APNs approver decides, the other two receive a
 * "decided" update under the same collapse id — the FCM Android collapse key, the Web Push `Topic` (APNs
 * `apns-collapse-id` likewise) — which replaces the stale push on their devices.
 */
import { accessApprovalFlow, createRelay, type Relay } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory } from '@idrelay/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.js';

let sandbox: Sandbox;
let relay: Relay;
let close: () => Promise<void>;
const APNS_TOKEN = 'cd'.repeat(32);
const FCM_TOKEN = 'fcm-token-erik';

beforeAll(async () => {
  sandbox = await startSandbox();
  const store = await createSqliteStore({ path: ':memory:' });
  relay = createRelay({
    store,
    transports: sandbox.transports,
    directory: createMemoryDirectory({
      users: ['requester', 'ana', 'erik', 'wen'].map((id) => ({ id, attributes: {} })),
    }),
    rules: [],
    flows: { definitions: [accessApprovalFlow()] },
    scheduler: { setTimeout: () => undefined, clearTimeout: () => {} },
  });
  await relay.devices.register({ userId: 'ana', deviceId: 'ana-iphone', platform: 'apns', token: APNS_TOKEN });
  await relay.devices.register({ userId: 'erik', deviceId: 'erik-pixel', platform: 'fcm', token: FCM_TOKEN });
  const subscription = sandbox.webpush.subscribe();
  await relay.devices.register({ userId: 'wen', deviceId: 'wen-browser', platform: 'webpush', subscription });
  close = async () => {
    await relay.close();
    await store.close();
    await sandbox.close();
  };
}, 30_000);
afterAll(() => close());

/** What `relay.respond()` hands a flow once a device's token and signature check out. */
type VerifiedResponse = Parameters<Relay['flows']['handler']['apply']>[0];

const fcmTo = (token: string) => sandbox.fcm.messages.filter((m) => m.message.token === token).map((m) => m.message);

it('replaces the other approvers’ pushes with a "decided" update under the same collapse id', async () => {
  const flow = await relay.flows.start('access-approval', 'req-w', {
    requestId: 'req-w',
    requester: { id: 'requester' },
    resource: { id: 'app-erp', name: 'ERP' },
    approvers: ['ana', 'erik', 'wen'],
  });
  await relay.drain();
  const [apnsFirst] = sandbox.apns.requestsFor(APNS_TOKEN);
  const [fcmFirst] = fcmTo(FCM_TOKEN) as Array<{ android?: { collapse_key?: string }; data?: Record<string, string> }>;
  const [webFirst] = sandbox.webpush.received();
  const collapseId = apnsFirst!.headers['apns-collapse-id'];
  expect(collapseId).toEqual(expect.any(String));
  expect(fcmFirst?.android?.collapse_key).toEqual(expect.any(String));
  expect(webFirst?.topic).toEqual(expect.any(String));
  expect(fcmFirst?.data).toMatchObject({ flowId: flow.id });

  // ana approves on her iPhone (what relay.respond() hands the flow once token and signature check out).
  const at = Date.now();
  const response: VerifiedResponse = {
    token: {
      tokenHash: 'h',
      notificationId: fcmFirst!.data!.notificationId!,
      userId: 'ana',
      deviceId: 'ana-iphone',
      actions: ['approve', 'deny'],
      flowId: flow.id,
      expiresAt: at + 60_000,
      createdAt: at,
    },
    notificationId: fcmFirst!.data!.notificationId!,
    userId: 'ana',
    deviceId: 'ana-iphone',
    decision: 'approve',
    proofId: 'jti-1',
    signedAt: at,
    receivedAt: at,
    proof: 'eyJ…',
  };
  expect(await relay.flows.handler.apply(response)).toMatchObject({ status: 'applied', state: 'approved' });
  await relay.drain();

  const fcmUpdate = fcmTo(FCM_TOKEN).at(-1) as {
    android?: { collapse_key?: string };
    notification?: { title?: string };
    data?: Record<string, string>;
  };
  expect(fcmTo(FCM_TOKEN)).toHaveLength(2);
  expect(fcmUpdate.android?.collapse_key).toBe(fcmFirst?.android?.collapse_key);
  expect(fcmUpdate.notification?.title).toBe('Access request decided');
  expect(fcmUpdate.data).toMatchObject({ type: 'idrelay.flow.decided', flowId: flow.id });

  const web = sandbox.webpush.received();
  expect(web).toHaveLength(2);
  expect(web[1]!.topic).toBe(webFirst!.topic);
  expect(web[1]!.json<{ title: string }>().title).toBe('Access request decided');

  // ana answered on this phone: it gets no update.
  expect(sandbox.apns.requestsFor(APNS_TOKEN)).toHaveLength(1);
  expect(collapseId).toBeDefined();
}, 30_000);
