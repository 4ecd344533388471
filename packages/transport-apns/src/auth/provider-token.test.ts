import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProviderTokenSource, loadSigningKey } from './provider-token.js';

const MINUTE = 60_000;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function setup(refreshAfterMs?: number) {
  let now = Date.UTC(2026, 10, 23, 12);
  const clock = { now: () => now };
  const tokens = createProviderTokenSource({
    signingKey: pem,
    teamId: 'TEAM123456',
    keyId: 'KEY1234567',
    clock,
    ...(refreshAfterMs === undefined ? {} : { refreshAfterMs }),
  });
  return { tokens, advance: (ms: number) => (now += ms), now: () => now };
}

describe('createProviderTokenSource', () => {
  it('signs an ES256 JWT that verifies with the public key, with kid, iss and iat', () => {
    const { tokens, now } = setup();
    const [h, c, s] = tokens.current().split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'ES256', kid: 'KEY1234567' });
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toEqual({ iss: 'TEAM123456', iat: now() / 1000 });
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${c}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(s, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('reuses the token until 50 minutes, then re-signs', () => {
    const { tokens, advance } = setup();
    const first = tokens.current();
    advance(49 * MINUTE + 59_000);
    expect(tokens.current()).toBe(first);
    advance(1000);
    expect(tokens.current()).not.toBe(first);
  });

  it('after ExpiredProviderToken, re-signs once for many callers, and never within 20 minutes', () => {
    const { tokens, advance } = setup();
    const used = tokens.current();
    advance(19 * MINUTE);
    expect(tokens.refreshAfterExpiry(used)).toBeUndefined();
    advance(2 * MINUTE);
    const fresh = tokens.refreshAfterExpiry(used);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(used);
    expect(tokens.refreshAfterExpiry(used)).toBe(fresh);
    expect(tokens.current()).toBe(fresh);
  });

  it('honours a custom refresh age inside 20–55 minutes', () => {
    const { tokens, advance } = setup(30 * MINUTE);
    const first = tokens.current();
    advance(30 * MINUTE);
    expect(tokens.current()).not.toBe(first);
  });
});

describe('loadSigningKey', () => {
  it('accepts PEM text, bytes and KeyObjects of a P-256 key', () => {
    for (const key of [pem, Buffer.from(pem), privateKey]) expect(loadSigningKey(key).asymmetricKeyType).toBe('ec');
  });
  it('refuses other curves and public keys', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(() => loadSigningKey(p384)).toThrowError(expect.objectContaining({ code: 'ERR_APNS_KEY_INVALID' }));
    expect(() => loadSigningKey(publicKey)).toThrowError(expect.objectContaining({ code: 'ERR_APNS_KEY_INVALID' }));
  });
});
