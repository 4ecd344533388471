import type { PushMessage } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { buildTemplate, messageFor, payloadBytes } from './build-message.js';
import { lifetimeSeconds } from './lifetime.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
/** The wire message for `message` sent now with no request expiry: the lifetime is its ttlSeconds. */
const wire = (message: PushMessage, target: ReturnType<typeof fcm>) =>
  messageFor(buildTemplate(message), target, lifetimeSeconds(message.ttlSeconds, undefined, NOW), NOW);
const fcm = (token: string, data?: Record<string, string>) =>
  ({ deviceId: `d-${token}`, platform: 'fcm', token, ...(data ? { data } : {}) }) as const;
const alert: PushMessage = {
  id: 'n1',
  title: 'Sign-in from a new device',
  subtitle: 'Berlin, Chrome',
  body: 'Was this you?',
  urgency: 'high',
  category: 'verify',
  threadId: 'security',
  collapseId: 'login-7',
  ttlSeconds: 600,
  badge: 1,
  sound: 'default',
  data: { flow: 'f-7' },
};

describe('FCM message mapping', () => {
  it('maps an alert onto notification, data, android, apns and webpush', () => {
    expect(wire(alert, fcm('t1'))).toEqual({
      token: 't1',
      notification: { title: 'Sign-in from a new device', body: 'Was this you?' },
      data: { flow: 'f-7' },
      android: {
        priority: 'high',
        collapseKey: 'login-7',
        ttl: 600_000,
        notification: { tag: 'security', clickAction: 'verify', sound: 'default' },
      },
      apns: {
        headers: { 'apns-priority': '10', 'apns-collapse-id': 'login-7', 'apns-expiration': String(NOW / 1000 + 600) },
        payload: {
          aps: {
            alert: { subtitle: 'Berlin, Chrome' },
            badge: 1,
            sound: 'default',
            category: 'verify',
            threadId: 'security',
          },
        },
      },
      webpush: { headers: { Urgency: 'high', Topic: 'login-7', TTL: '600' } },
    });
  });

  it('carries the deep link in data.url on every device, and as the web click link when it is https', () => {
    const linked = buildTemplate({ ...alert, url: 'https://portal.example.com/password', data: { url: 'stale' } });
    const one = messageFor(linked, fcm('t1', { actionToken: 'at-1' }), 600, NOW);
    const two = messageFor(linked, fcm('t2'), 600, NOW);
    expect(one.data).toEqual({ url: 'https://portal.example.com/password', actionToken: 'at-1' });
    expect(two.data).toEqual({ url: 'https://portal.example.com/password' });
    expect(one.webpush?.fcmOptions).toEqual({ link: 'https://portal.example.com/password' });
    const app = wire({ ...alert, url: 'myapp://requests/42' }, fcm('t3'));
    expect(app.data).toEqual({ flow: 'f-7', url: 'myapp://requests/42' });
    expect(app.webpush).not.toHaveProperty('fcmOptions');
    expect(wire(alert, fcm('t4')).data).toEqual({ flow: 'f-7' });
  });

  it('sends a silent data push at low APNs priority, with no notification block', () => {
    const message = wire({ id: 'n2', urgency: 'normal', contentAvailable: true, data: { sync: '1' } }, fcm('t2'));
    expect(message).not.toHaveProperty('notification');
    expect(message.android).toEqual({ priority: 'normal' });
    expect(message.apns).toEqual({ headers: { 'apns-priority': '5' }, payload: { aps: { contentAvailable: true } } });
  });

  it('maps low urgencies to Android normal priority and APNs priority 5; TTL 0 means now or never', () => {
    const message = wire({ ...alert, urgency: 'very-low', ttlSeconds: 0 }, fcm('t3'));
    expect(message.android).toMatchObject({ priority: 'normal', ttl: 0 });
    expect(message.apns?.headers).toMatchObject({ 'apns-priority': '5', 'apns-expiration': '0' });
    expect(message.webpush?.headers).toMatchObject({ Urgency: 'very-low', TTL: '0' });
  });

  it('takes the channel id from platform.fcm and merges template overrides last, key by key', () => {
    const message = wire(
      {
        ...alert,
        platform: {
          fcm: {
            channelId: 'security-alerts',
            android: { priority: 'normal', notification: { color: '#d32f2f' } },
            apns: { headers: { 'apns-push-type': 'alert' } },
            webpush: { fcmOptions: { link: 'https://app.example.com/verify' } },
          },
        },
      },
      fcm('t4'),
    );
    expect(message.android).toMatchObject({
      priority: 'normal',
      notification: { channelId: 'security-alerts', tag: 'security', color: '#d32f2f' },
    });
    expect(message.apns?.headers).toMatchObject({ 'apns-priority': '10', 'apns-push-type': 'alert' });
    expect(message.webpush).toEqual({
      headers: { Urgency: 'high', Topic: 'login-7', TTL: '600' },
      fcmOptions: { link: 'https://app.example.com/verify' },
    });
  });

  it('merges a device’s data over the message data without touching the caller’s objects', () => {
    const input = structuredClone(alert);
    const template = buildTemplate(input);
    const one = messageFor(template, fcm('a', { flow: 'mine', actionToken: 'at-a' }), 600, NOW);
    const two = messageFor(template, fcm('b'), 600, NOW);
    expect(one.data).toEqual({ flow: 'mine', actionToken: 'at-a' });
    expect(two.data).toEqual({ flow: 'f-7' });
    expect(input).toEqual(alert);
  });

  it('counts the payload without the token', () => {
    const template = buildTemplate(alert);
    expect(payloadBytes(messageFor(template, fcm('short'), 600, NOW))).toBe(
      payloadBytes(messageFor(template, fcm('x'.repeat(160)), 600, NOW)),
    );
  });

  it('puts the remaining lifetime in all three places: Android ttl, apns-expiration and Web Push TTL', () => {
    const message = messageFor(buildTemplate(alert), fcm('t5'), 120, NOW);
    expect(message.android?.ttl).toBe(120_000);
    expect(message.apns?.headers?.['apns-expiration']).toBe(String(NOW / 1000 + 120));
    expect(message.webpush?.headers?.TTL).toBe('120');
    const untimed = messageFor(buildTemplate({ id: 'n', urgency: 'high', title: 't' }), fcm('t6'), undefined, NOW);
    expect(untimed.android).not.toHaveProperty('ttl');
    expect(untimed.webpush?.headers).not.toHaveProperty('TTL');
  });

  it('fits collapse key, tag, thread id and Topic to the providers’ limits, the same way every time', () => {
    const collapseId = `verification-${'f'.repeat(64)}`;
    const a = wire({ ...alert, collapseId, threadId: `thread-${'t'.repeat(80)}` }, fcm('t7'));
    const b = wire({ ...alert, collapseId, threadId: `thread-${'t'.repeat(80)}`, body: 'other' }, fcm('t8'));
    expect(Buffer.byteLength(a.android?.collapseKey ?? '')).toBeLessThanOrEqual(64);
    expect(a.apns?.headers?.['apns-collapse-id']).toBe(a.android?.collapseKey);
    expect(b.android?.collapseKey).toBe(a.android?.collapseKey);
    expect(Buffer.byteLength(a.android?.notification?.tag ?? '')).toBeLessThanOrEqual(64);
    expect(a.webpush?.headers?.Topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const unsafe = wire({ ...alert, collapseId: 'req\u000042' }, fcm('t9'));
    expect(unsafe.apns?.headers?.['apns-collapse-id']).toMatch(/^[\x20-\x7e]+$/);
  });
});
