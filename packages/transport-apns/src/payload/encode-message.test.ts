import type { PushMessage } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { apnsExpiration, encodeApnsMessage } from './encode-message.js';
import { lifetimeSeconds } from './lifetime.js';

const NOW = Date.UTC(2026, 10, 23, 12);
const encode = (message: Partial<PushMessage>) =>
  encodeApnsMessage({ id: 'm', urgency: 'high', ...message }, { defaultTopic: 'com.example.app' });

describe('encodeApnsMessage', () => {
  it('builds the aps dictionary of a security approval push', () => {
    const encoded = encode({
      title: 'Approve sign-in?',
      subtitle: 'Payroll',
      body: 'Match 42 on your screen',
      badge: 3,
      sound: 'default',
      category: 'APPROVAL',
      threadId: 'req-42',
      interruptionLevel: 'time-sensitive',
      mutableContent: true,
      data: { requestId: 'req-42' },
    });
    expect(JSON.parse(encoded.body())).toEqual({
      requestId: 'req-42',
      aps: {
        alert: { title: 'Approve sign-in?', subtitle: 'Payroll', body: 'Match 42 on your screen' },
        badge: 3,
        sound: 'default',
        category: 'APPROVAL',
        'thread-id': 'req-42',
        'interruption-level': 'time-sensitive',
        'mutable-content': 1,
      },
    });
    expect(encoded.headers).toEqual({ 'apns-push-type': 'alert', 'apns-priority': '10' });
    expect(encoded.topic).toBe('com.example.app');
  });

  it('merges the device data over the message data, and the template payload last', () => {
    const encoded = encode({
      body: 'b',
      data: { kind: 'access', requestId: 'r' },
      platform: { apns: { payload: { extra: true, aps: { sound: 'alarm.caf' } } } },
    });
    expect(JSON.parse(encoded.body({ kind: 'override', actionToken: 't' }))).toEqual({
      kind: 'override',
      requestId: 'r',
      actionToken: 't',
      extra: true,
      aps: { alert: { body: 'b' }, sound: 'alarm.caf' },
    });
  });

  it('carries the deep link as `url` beside aps, over a `url` in the message data', () => {
    const encoded = encode({
      title: 'Password change required',
      url: 'https://portal.example.com/password',
      data: { url: 'https://stale.example.com/', type: 'idrelay.account.password.reset-required' },
    });
    expect(JSON.parse(encoded.body({ actionToken: 't' }))).toEqual({
      url: 'https://portal.example.com/password',
      type: 'idrelay.account.password.reset-required',
      actionToken: 't',
      aps: { alert: { title: 'Password change required' } },
    });
    expect(JSON.parse(encode({ title: 't' }).body())).not.toHaveProperty('url');
  });

  it('a silent content-available message is a background push at priority 5', () => {
    const encoded = encode({ contentAvailable: true, urgency: 'high' });
    expect(encoded.pushType).toBe('background');
    expect(encoded.headers['apns-priority']).toBe('5');
    expect(JSON.parse(encoded.body())).toEqual({ aps: { 'content-available': 1 } });
  });

  it.each([
    ['high', '10'],
    ['normal', '10'],
    ['low', '5'],
    ['very-low', '5'],
  ] as const)('urgency %s → apns-priority %s', (urgency, priority) => {
    expect(encode({ body: 'b', urgency }).headers['apns-priority']).toBe(priority);
  });

  it('turns the lifetime into an absolute apns-expiration, keeping 0 as "now or never"', () => {
    expect(encode({ body: 'b', ttlSeconds: 300 }).ttlSeconds).toBe(300);
    expect(apnsExpiration(300, NOW)).toBe(String(NOW / 1000 + 300));
    expect(apnsExpiration(0, NOW)).toBe('0');
    expect(encode({ body: 'b', ttlSeconds: 300 }).headers).not.toHaveProperty('apns-expiration');
  });

  it('takes the smaller of ttlSeconds and what is left until expiresAt, rounded down', () => {
    expect(lifetimeSeconds(600, NOW + 120_500, NOW)).toBe(120);
    expect(lifetimeSeconds(60, NOW + 3_600_000, NOW)).toBe(60);
    expect(lifetimeSeconds(undefined, NOW + 90_000, NOW)).toBe(90);
    expect(lifetimeSeconds(600, NOW + 400, NOW)).toBe(0);
    expect(lifetimeSeconds(undefined, undefined, NOW)).toBeUndefined();
  });

  it('sends collapseId as apns-collapse-id, fitting one over 64 bytes instead of refusing it', () => {
    expect(encode({ body: 'b', collapseId: 'approval-req-42' }).headers['apns-collapse-id']).toBe('approval-req-42');
    const long = `verification-${'f'.repeat(64)}`;
    const fitted = encode({ body: 'b', collapseId: long }).headers['apns-collapse-id'];
    expect(Buffer.byteLength(fitted ?? '')).toBeLessThanOrEqual(64);
    expect(encode({ body: 'c', collapseId: long }).headers['apns-collapse-id']).toBe(fitted);
    expect(encode({ body: 'b', collapseId: 'é'.repeat(33) }).headers['apns-collapse-id']).toMatch(/^[\w-]{43}$/);
  });

  it('never puts a control character or a non-ASCII byte in a header; thread-id fits 64 bytes', () => {
    for (const collapseId of ['a\u0000b', 'line\nbreak', 'prix-€']) {
      expect(encode({ body: 'b', collapseId }).headers['apns-collapse-id']).toMatch(/^[\x20-\x7e]+$/);
    }
    const aps = JSON.parse(encode({ body: 'b', threadId: 't'.repeat(100) }).body()).aps;
    expect(Buffer.byteLength(aps['thread-id'])).toBeLessThanOrEqual(64);
    expect(JSON.parse(encode({ body: 'b', threadId: 'req-42' }).body()).aps['thread-id']).toBe('req-42');
  });

  it('voip pushes go to the .voip topic, with a 5120-byte limit', () => {
    const encoded = encode({ body: 'x'.repeat(4500), platform: { apns: { pushType: 'voip' } } });
    expect(encoded.topic).toBe('com.example.app.voip');
    expect(() => encoded.body()).not.toThrow();
    expect(() => encode({ body: 'x'.repeat(5200), platform: { apns: { pushType: 'voip' } } }).body()).toThrowError(
      expect.objectContaining({ code: 'ERR_APNS_PAYLOAD_TOO_LARGE' }),
    );
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    const encoded = encode({ body: '€'.repeat(1400) });
    expect(() => encoded.body()).toThrowError(
      expect.objectContaining({
        code: 'ERR_APNS_PAYLOAD_TOO_LARGE',
        details: expect.objectContaining({ limit: 4096 }),
      }),
    );
  });

  it('does not touch the caller’s message', () => {
    const message: PushMessage = { id: 'm', urgency: 'high', body: 'b', data: { a: '1' } };
    const before = structuredClone(message);
    encodeApnsMessage(message, { defaultTopic: 't' }).body({ a: '2' });
    expect(message).toEqual(before);
  });
});
