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
