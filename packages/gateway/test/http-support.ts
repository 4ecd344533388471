/**
 * A gateway over a memory store and recording transports, with a manual clock and no background timers: tests
 * call `relay.drain()` to dispatch and read what each transport was asked to send.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { DeliveryResult, Platform, PushRequest, Store, Transport } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createRelay, defaultRules, type Relay, type RelayOptions, signProof } from '@idrelay/engine';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import {
  createApiKey,
  createGateway,
  type Gateway,
  type GatewayOptions,
  gatewayActionUrls,
  resolveConfig,
} from '../src/index.js';

export const T0 = Date.parse('2026-11-23T12:00:00Z');
export const PUBLIC_URL = 'https://relay.example.com';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('a shared secret of 32 bytes!!!!!').toString('base64')}`;

export interface RecordingTransport extends Transport {
  readonly sent: PushRequest[];
}

export function createRecordingTransport(platform: Platform): RecordingTransport {
  const sent: PushRequest[] = [];
  const sendEach = async (requests: readonly PushRequest[]): Promise<DeliveryResult[]> =>
    requests.map((r) => {
      sent.push(r);
      return { deviceId: r.target.deviceId, status: 'delivered' } as DeliveryResult;
    });
  return {
    platform,
    name: `recording:${platform}`,
    sent,
    sendEach,
    send: (message, targets) => sendEach(targets.map((target) => ({ message, target }))),
    close: async () => {},
  };
}

export interface TestDevice {
  deviceId: string;
  privateKey: KeyObject;
  publicJwk: JsonWebKey;
}

export function makeDevice(deviceId: string): TestDevice {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { deviceId, privateKey, publicJwk: publicKey.export({ format: 'jwk' }) as JsonWebKey };
}

export interface TestGateway {
  gateway: Gateway;
  relay: Relay;
  store: Store;
  clock: { now(): number; advance(ms: number): void };
  transports: Record<'apns' | 'fcm' | 'webpush', RecordingTransport>;
  keys: { ingest: string; preview: string; admin: string; all: string };
  /** Every push the transports were asked to send. */
  sent(): PushRequest[];
  /** `app.request` with the gateway's public origin. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Enrols `device` for `userId` over HTTP with a fresh code; returns the answer. */
  enrol(userId: string, device: TestDevice, address?: Record<string, unknown>): Promise<Response>;
  /** Counts of what the store holds that a refused request must not have added (events by their audit entry). */
  counts(): Promise<{ events: number; deliveries: number; devices: number }>;
  close(): Promise<void>;
}

const manualScheduler = { setTimeout: () => undefined, clearTimeout: () => {} };

export async function createTestGateway(
  overrides: {
    config?: Record<string, unknown>;
    options?: Partial<GatewayOptions>;
    relay?: Partial<RelayOptions>;
  } = {},
): Promise<TestGateway> {
  let now = T0;
  const clock = {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
  const store = createMemoryStore();
  const transports = {
    apns: createRecordingTransport('apns'),
    fcm: createRecordingTransport('fcm'),
    webpush: createRecordingTransport('webpush'),
  };
  const relay = createRelay({
    store,
    directory: createMemoryDirectory({
      users: [
        { id: 'alice', subjects: [{ format: 'email', email: 'alice@example.com' }], attributes: {} },
        { id: 'bob', attributes: {} },
        { id: 'erin', attributes: {} },
      ],
      groups: [
        { id: 'soc', members: ['erin'] },
        { id: 'iam-admins', members: ['bob'] },
      ],
    }),
    transports: Object.values(transports),
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }),
    clock,
    scheduler: manualScheduler,
    random: () => 0.5,
    actions: gatewayActionUrls(PUBLIC_URL),
    ...overrides.relay,
  });
  const made = {
    ingest: createApiKey('iam', ['ingest']),
    preview: createApiKey('viewer', ['preview']),
    admin: createApiKey('ops', ['admin']),
    all: createApiKey('root', ['ingest', 'preview', 'admin']),
  };
  const config = resolveConfig(
    {
      publicUrl: PUBLIC_URL,
      apiKeys: Object.values(made).map((k) => ({ id: k.entry.id, sha256: k.sha256, scopes: [...k.entry.scopes] })),
      webhooks: { secrets: [{ id: 'idp', secret: WEBHOOK_SECRET }] },
      ...overrides.config,
    },
    { cwd: process.cwd(), env: {} },
  );
  const gateway = createGateway({ relay, store, config, clock, ...overrides.options });
  const request = (path: string, init?: RequestInit) =>
    Promise.resolve(gateway.app.request(`${PUBLIC_URL}${path}`, init));
  const t: TestGateway = {
    gateway,
    relay,
    store,
    clock,
    transports,
    keys: { ingest: made.ingest.key, preview: made.preview.key, admin: made.admin.key, all: made.all.key },
    sent: () => [...transports.apns.sent, ...transports.fcm.sent, ...transports.webpush.sent],
    request,
    async enrol(userId, device, address = { platform: 'fcm', token: `fcm-token-${device.deviceId}` }) {
      const codeAnswer = await request('/v1/enrolment-codes', {
        method: 'POST',
        headers: { authorization: `Bearer ${made.admin.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
      });
      const { code } = (await codeAnswer.json()) as { code: string };
      return request('/v1/devices/enrol', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          ...address,
          code,
          deviceId: device.deviceId,
          publicKey: device.publicJwk,
          algorithm: 'ES256',
        }),
      });
    },
    async counts() {
      const devices = (await Promise.all(['alice', 'bob', 'erin'].map((u) => store.devices.listByUser(u)))).flat();
      const audit = await store.audit.list({ limit: 10_000 });
      const deliveries = (await store.outbox.counts()) as Record<string, number>;
      return {
        events: audit.filter((e) => e.action === 'event.ingested').length,
        deliveries: Object.values(deliveries).reduce((a, b) => a + b, 0),
        devices: devices.length,
      };
    },
    async close() {
      await gateway.close();
      await relay.close();
      await store.close();
    },
  };
  return t;
}

/** An `idrelay.access.denied` event about alice (the default rules push it to her devices). */
export function deniedEvent(id: string, requestId = `req-${id}`) {
  return createEvent(
    'idrelay.access.denied',
    { requestId, approver: { id: 'bob' }, decidedAt: new Date(T0).toISOString() },
    { source: 'https://iam.example.com', id, idrelaysubject: { format: 'email', email: 'alice@example.com' } },
  );
}

/** A device proof for the gateway's URLs. */
export function proof(
  device: TestDevice,
  token: string,
  at: number,
  claims: { method: 'GET' | 'POST'; notificationId?: string; decision?: string; code?: string; jti?: string },
) {
  const urls = gatewayActionUrls(PUBLIC_URL);
  return signProof({
    privateKey: device.privateKey,
    algorithm: 'ES256',
    deviceId: device.deviceId,
    token,
    method: claims.method,
    url:
      claims.method === 'GET'
        ? urls.detailsUrl.replace('{notificationId}', encodeURIComponent(claims.notificationId ?? ''))
        : urls.respondUrl,
    iat: Math.floor(at / 1000),
    ...(claims.decision !== undefined ? { decision: claims.decision } : {}),
    ...(claims.code !== undefined ? { code: claims.code } : {}),
    ...(claims.jti !== undefined ? { jti: claims.jti } : {}),
  });
}
