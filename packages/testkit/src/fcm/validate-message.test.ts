import { describe, expect, it } from 'vitest';
import { FCM_MAX_PAYLOAD_BYTES, fcmPayloadBytes, validateFcmSendBody } from './validate-message.js';

const ok = { message: { token: 't', notification: { title: 'Hi' }, data: { a: '1' } } };

describe('validateFcmSendBody', () => {
  it('accepts a well-formed token message', () => {
    expect(validateFcmSendBody(ok)).toBeUndefined();
    expect(validateFcmSendBody({ ...ok, validate_only: true })).toBeUndefined();
  });

  it.each([
    ['no message', {}, "Missing 'message'"],
    ['no target', { message: { data: {} } }, 'Exactly one of token, topic or condition'],
    ['two targets', { message: { token: 't', topic: 'news' } }, 'Exactly one of token, topic or condition'],
    ['empty token', { message: { token: '' } }, "Invalid value at 'message.token'"],
    ['non-string data', { message: { token: 't', data: { n: 1 } } }, "'message.data[n]' (TYPE_STRING)"],
    ['bad priority', { message: { token: 't', android: { priority: 'urgent' } } }, 'AndroidMessagePriority'],
    ['ms ttl', { message: { token: 't', android: { ttl: 3600 } } }, "'message.android.ttl'"],
    ['ttl without unit', { message: { token: 't', android: { ttl: '3600' } } }, "'message.android.ttl'"],
    ['apns header not string', { message: { token: 't', apns: { headers: { 'apns-priority': 10 } } } }, 'apns.headers'],
    ['webpush data not string', { message: { token: 't', webpush: { data: { a: true } } } }, 'webpush.data'],
    ['validate_only not bool', { ...ok, validate_only: 'yes' }, 'validate_only'],
  ])('refuses %s', (_name, body, text) => {
    expect(validateFcmSendBody(body)).toContain(text);
  });

  it('accepts FCM’s duration format with fractions', () => {
    expect(
      validateFcmSendBody({ message: { token: 't', android: { ttl: '3.5s', priority: 'high' } } }),
    ).toBeUndefined();
  });

  it('enforces 4096 bytes for token messages and 2048 for topics, not counting the target', () => {
    const fill = (n: number) => ({ data: { x: 'y'.repeat(n) } });
    const overhead = fcmPayloadBytes(fill(0));
    const exact = fill(FCM_MAX_PAYLOAD_BYTES - overhead);
    expect(fcmPayloadBytes({ token: 'ignored', ...exact })).toBe(FCM_MAX_PAYLOAD_BYTES);
    expect(validateFcmSendBody({ message: { token: 't', ...exact } })).toBeUndefined();
    expect(validateFcmSendBody({ message: { token: 't', ...fill(FCM_MAX_PAYLOAD_BYTES - overhead + 1) } })).toContain(
      'Message is too big',
    );
    expect(validateFcmSendBody({ message: { topic: 'news', ...fill(2100) } })).toContain('2048-byte limit');
  });
});
