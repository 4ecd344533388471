import { createECDH } from 'node:crypto';
import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { generateVapidKeys, parseVapidKeys } from './vapid-keys.js';

const good = { ...generateVapidKeys(), subject: 'https://example.com/contact' };
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isIdrelayError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  return 'no error';
};

describe('parseVapidKeys', () => {
  it('accepts generated keys with a mailto: or https: subject', () => {
    expect(parseVapidKeys(good).publicKey).toBe(good.publicKey);
    expect(parseVapidKeys({ ...good, subject: 'mailto:ops@example.com' }).subject).toBe('mailto:ops@example.com');
  });

  it('refuses malformed keys, mismatched pairs and bad subjects with ERR_WEBPUSH_VAPID_INVALID', () => {
    const other = generateVapidKeys();
    expect(codeOf(() => parseVapidKeys({ ...good, subject: 'ops@example.com' }))).toMatch(
      /^ERR_WEBPUSH_VAPID_INVALID: .*subject/,
    );
    expect(codeOf(() => parseVapidKeys({ ...good, publicKey: 'AAAA' }))).toMatch(
      /^ERR_WEBPUSH_VAPID_INVALID: .*publicKey/,
    );
    expect(codeOf(() => parseVapidKeys({ ...good, privateKey: 'AAAA' }))).toMatch(
      /^ERR_WEBPUSH_VAPID_INVALID: .*privateKey/,
    );
    expect(codeOf(() => parseVapidKeys({ ...good, publicKey: other.publicKey }))).toMatch(/does not belong/);
  });
});

describe('private keys with leading zero bytes', () => {
  it('generates every private key as 32 bytes, and accepts one written without its leading zeros', () => {
    // Node's getPrivateKey() drops leading zero bytes, 1 key in 256: 3,000 draws all but surely meet one.
    for (let i = 0; i < 3_000; i++) {
      expect(Buffer.from(generateVapidKeys().privateKey, 'base64url')).toHaveLength(32);
    }
    let short: { publicKey: string; privateKey: string } | undefined;
    for (let i = 0; i < 20_000 && short === undefined; i++) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      if (ecdh.getPrivateKey().length < 32) {
        short = { publicKey: ecdh.getPublicKey('base64url'), privateKey: ecdh.getPrivateKey('base64url') };
      }
    }
    expect(short).toBeDefined();
    const parsed = parseVapidKeys({ ...short!, subject: 'mailto:ops@example.com' });
    expect(parsed.publicKey).toBe(short!.publicKey);
  });
});
