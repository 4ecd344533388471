import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import type { Clock, DeviceTarget, PushMessage, Transport } from '@idrelay/core';
import { type ApnsStandIn, type ApnsStandInOptions, startApnsStandIn } from '@idrelay/testkit';
import { type ApnsTransportOptions, createApnsTransport } from '../src/index.js';

export const TEAM_ID = 'DEF123GHIJ';
export const KEY_ID = 'ABC123DEFG';
export const TOPIC = 'com.example.authenticator';

/** A `.p8`-style P-256 key pair, as Apple would issue one. */
export function makeKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** A fresh 64-hex-character device token. */
export function deviceToken(): string {
  return randomBytes(32).toString('hex');
}

let counter = 0;
/** An APNs device with a fresh token and a unique id. */
export function device(over: Partial<Extract<DeviceTarget, { platform: 'apns' }>> = {}) {
  counter++;
  return { deviceId: `iphone-${counter}`, platform: 'apns' as const, token: deviceToken(), ...over };
}

/** A settable clock that only moves when told. */
export function fakeClock(start = Date.UTC(2026, 10, 23, 12)): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

export const alert = (over: Partial<PushMessage> = {}): PushMessage => ({
  id: 'msg-1',
  title: 'Approve access to payroll?',
  body: 'Alice requests finance-admins.',
  urgency: 'high',
  ...over,
});

/** A stand-in plus a transport aimed at it, sharing one key pair (and clock, when given). */
export async function world(
  opts: { standIn?: Partial<ApnsStandInOptions>; transport?: Partial<ApnsTransportOptions> } = {},
): Promise<{
  standIn: ApnsStandIn;
  transport: Transport;
  /** The public half of the signing key the transports use, for a second stand-in. */
  publicKey: KeyObject;
  create(over?: Partial<ApnsTransportOptions>): Transport;
  close(): Promise<void>;
}> {
  const { privateKey, publicKey } = makeKeyPair();
  const standIn = await startApnsStandIn({
    publicKey,
    teamId: TEAM_ID,
    keyId: KEY_ID,
    topics: [TOPIC],
    ...opts.standIn,
  });
  const made: Transport[] = [];
  const create = (over: Partial<ApnsTransportOptions> = {}) => {
    const t = createApnsTransport({
      signingKey: privateKey,
      teamId: TEAM_ID,
      keyId: KEY_ID,
      defaultTopic: TOPIC,
      origin: standIn.origin,
      ca: standIn.ca,
      retry: { baseDelayMs: 1, maxDelayMs: 50 },
      ...opts.transport,
      ...over,
    });
    made.push(t);
    return t;
  };
  const transport = create();
  return {
    standIn,
    transport,
    publicKey,
    create,
    async close() {
      await Promise.all(made.map((t) => t.close()));
      await standIn.close();
    },
  };
}

/** A promise the test settles by hand: `open()` lets held answers go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
