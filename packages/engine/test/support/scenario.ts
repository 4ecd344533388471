/**
 * A small organisation for scenario tests: requesters, approvers, managers, a security team, IAM admins, and a
 * device or two each on every platform.
 */
import type { Directory, Store } from '@idrelay/core';
import { createMemoryDirectory } from '@idrelay/testkit';
import { createRelay, defaultRules, type Relay, type RelayOptions } from '../../src/index.js';
import { createRecordingTransport, type RecordingTransport } from './fake-transport.js';

export const T0 = Date.parse('2026-11-23T12:00:00Z');

export function createScenarioDirectory(): Directory {
  return createMemoryDirectory({
    users: [
      {
        id: 'alice',
        managerId: 'carol',
        locale: 'de-CH',
        timeZone: 'Europe/Zurich',
        subjects: [{ format: 'email', email: 'alice@example.com' }],
        attributes: { department: 'finance', location: 'zurich' },
      },
      { id: 'bob', attributes: { department: 'finance', role: 'approver' } },
      { id: 'carol', attributes: { department: 'finance', role: 'manager' } },
      { id: 'dave', managerId: 'carol', attributes: { department: 'it', location: 'berlin' } },
      { id: 'erin', attributes: { department: 'security' } },
      { id: 'frank', attributes: { department: 'security' } },
      { id: 'ivan', attributes: { department: 'it', role: 'iam-admin' } },
      { id: 'judy', attributes: { department: 'it', role: 'iam-admin' } },
    ],
    groups: [
      { id: 'soc', members: ['erin'], groups: ['soc-oncall'] },
      { id: 'soc-oncall', members: ['frank'] },
      { id: 'iam-admins', members: ['ivan', 'judy'] },
      { id: 'all', members: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'ivan', 'judy'] },
    ],
    resourceApprovers: { 'app-erp': { users: ['bob'] } },
  });
}

/** Which device each user has. */
export const DEVICES = [
  { userId: 'alice', deviceId: 'alice-iphone', platform: 'apns', token: 'a1a1a1a1a1a1a1a1' },
  {
    userId: 'alice',
    deviceId: 'alice-browser',
    platform: 'webpush',
    subscription: { endpoint: 'https://push.example.net/alice', keys: { p256dh: 'p', auth: 'a' } },
  },
  { userId: 'bob', deviceId: 'bob-pixel', platform: 'fcm', token: 'b2b2b2b2b2b2b2b2' },
  { userId: 'carol', deviceId: 'carol-iphone', platform: 'apns', token: 'c3c3c3c3c3c3c3c3' },
  { userId: 'dave', deviceId: 'dave-pixel', platform: 'fcm', token: 'd4d4d4d4d4d4d4d4' },
  { userId: 'erin', deviceId: 'erin-pixel', platform: 'fcm', token: 'e5e5e5e5e5e5e5e5' },
  {
    userId: 'frank',
    deviceId: 'frank-browser',
    platform: 'webpush',
    subscription: { endpoint: 'https://push.example.net/frank', keys: { p256dh: 'p', auth: 'a' } },
  },
  { userId: 'ivan', deviceId: 'ivan-iphone', platform: 'apns', token: 'f6f6f6f6f6f6f6f6' },
  { userId: 'judy', deviceId: 'judy-pixel', platform: 'fcm', token: 'a7a7a7a7a7a7a7a7' },
] as const;

export interface Scenario {
  relay: Relay;
  store: Store;
  clock: { now(): number; advance(ms: number): void; set(at: number): void };
  transports: { apns: RecordingTransport; fcm: RecordingTransport; webpush: RecordingTransport };
  /** Device ids that received something, sorted. */
  received(): string[];
  /** Clears what the transports recorded. */
  reset(): void;
}

/** No real timers: scenario tests move time with the manual clock and call `relay.drain()`. */
export const manualScheduler = { setTimeout: () => undefined, clearTimeout: () => {} };

export async function createScenario(store: Store, overrides: Partial<RelayOptions> = {}): Promise<Scenario> {
  let now = T0;
  const clock = {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(at: number) {
      now = at;
    },
  };
  const transports = {
    apns: createRecordingTransport('apns'),
    fcm: createRecordingTransport('fcm'),
    webpush: createRecordingTransport('webpush'),
  };
  const relay = createRelay({
    store,
    directory: createScenarioDirectory(),
    transports: Object.values(transports),
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins', digestWindowMs: 5 * 60_000 }),
    clock,
    scheduler: manualScheduler,
    random: () => 0.5,
    ...overrides,
  });
  for (const device of DEVICES) await relay.devices.register(structuredClone(device) as never);
  const all = () => [...transports.apns.sent, ...transports.fcm.sent, ...transports.webpush.sent];
  return {
    relay,
    store,
    clock,
    transports,
    received: () =>
      all()
        .map((s) => s.target.deviceId)
        .sort(),
    reset: () => {
      for (const t of Object.values(transports)) t.sent.length = 0;
    },
  };
}
