import type { KeyObject } from 'node:crypto';
import { verifyVapid } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { generateVapidKeys, parseVapidKeys } from './vapid-keys.js';
import { createVapidSigner } from './vapid-signer.js';

const keys = parseVapidKeys({ ...generateVapidKeys(), subject: 'mailto:ops@example.com' });
const origin = 'https://push.example.net';
const fakeClock = (start: number) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};
const claimsOf = (header: string) => {
  const jwt = /t=([^,]+)/.exec(header)![1]!;
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as {
    aud: string;
    exp: number;
    sub: string;
  };
};

describe('createVapidSigner', () => {
  it('signs a token a strict push service accepts: ES256, aud = origin, exp ≤ 24 h, sub', () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12));
    const header = createVapidSigner({ keys, clock }).authorization(origin);
    const check = verifyVapid(header, origin, clock.now(), new Map<string, KeyObject>());
    expect(check).toEqual({
      ok: true,
      claims: {
        aud: origin,
        exp: clock.now() / 1000 + 12 * 3600,
        sub: 'mailto:ops@example.com',
        publicKey: keys.publicKey,
      },
    });
  });

  it('reuses one token per origin until an hour before expiry, then signs a new one', () => {
    const clock = fakeClock(Date.UTC(2026, 10, 23, 12));
    const signer = createVapidSigner({ keys, clock });
    const first = signer.authorization(origin);
    expect(signer.authorization(origin)).toBe(first);
    clock.advance(10 * 3600_000);
    expect(signer.authorization(origin)).toBe(first);
    expect(signer.signed).toBe(1);

    clock.advance(3600_000 + 1); // now inside the last hour of the first token
    const second = signer.authorization(origin);
    expect(second).not.toBe(first);
    expect(claimsOf(second).exp).toBe(claimsOf(first).exp + 11 * 3600);
    expect(signer.signed).toBe(2);
  });

  it('keeps a separate token per push-service origin', () => {
    const signer = createVapidSigner({ keys, clock: fakeClock(0) });
    const a = signer.authorization('https://fcm.googleapis.com');
    const b = signer.authorization('https://updates.push.services.mozilla.com');
    expect(claimsOf(a).aud).toBe('https://fcm.googleapis.com');
    expect(claimsOf(b).aud).toBe('https://updates.push.services.mozilla.com');
    expect(signer.authorization('https://fcm.googleapis.com')).toBe(a);
    expect(signer.signed).toBe(2);
  });

  it('never writes an exp more than 24 hours ahead', () => {
    const clock = fakeClock(1_000_000_000);
    const header = createVapidSigner({ keys, clock, expirySeconds: 48 * 3600 }).authorization(origin);
    expect(claimsOf(header).exp).toBe(1_000_000 + 24 * 3600);
  });
});
