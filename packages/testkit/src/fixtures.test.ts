import { isIdrelayError } from '@idrelay/core';
import { parseEvent } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { createFixtures } from './fixtures.js';

describe('createFixtures', () => {
  it('makes valid events from its source and clock, numbered per factory', () => {
    const fixtures = createFixtures({ source: '/tests', now: Date.parse('2026-03-29T00:30:00Z') });
    const first = fixtures.event('idrelay.account.locked', { userId: 'u-1', reason: 'failed-logins' });
    const second = fixtures.event('idrelay.account.enabled', { userId: 'u-1' }, { id: 'mine' });
    expect(first).toMatchObject({ source: '/tests', id: 'evt-1', time: '2026-03-29T00:30:00.000Z' });
    expect(second.id).toBe('mine');
    expect(parseEvent(JSON.stringify(first))).toEqual(first);
    expect(createFixtures().event('idrelay.user.activated', { userId: 'u' }).id).toBe('evt-1');
    let caught: unknown;
    try {
      fixtures.event('idrelay.account.locked', { userId: 'u-1', reason: 'bored' } as never);
    } catch (error) {
      caught = error;
    }
    expect(isIdrelayError(caught, 'ERR_EVENT_INVALID')).toBe(true);
  });

  it('makes devices on every platform with addresses providers accept', () => {
    const fixtures = createFixtures({ prefix: 't-' });
    const phone = fixtures.device('apns', { userId: 'alice' });
    expect(phone).toMatchObject({ deviceId: 't-device-1', userId: 'alice', platform: 'apns' });
    expect(phone.platform === 'apns' && phone.token).toMatch(/^[0-9a-f]{64}$/);
    const pixel = fixtures.device('fcm', { deviceId: 'pixel', token: 'fcm-token' });
    expect(pixel).toMatchObject({ deviceId: 'pixel', platform: 'fcm', token: 'fcm-token' });
    const target = fixtures.target('webpush', { data: { actionToken: 'at-1' } });
    expect(target).not.toHaveProperty('userId');
    expect(target).toMatchObject({ platform: 'webpush', data: { actionToken: 'at-1' } });
    // A real encryptor accepts the subscription's P-256 key and auth secret (RFC 8291).
    const subscription = target.platform === 'webpush' ? target.subscription : undefined;
    const vapid = webpush.generateVAPIDKeys();
    const request = webpush.generateRequestDetails(subscription!, 'hello', {
      vapidDetails: { subject: 'mailto:test@example.com', ...vapid },
    });
    expect(request.body.length).toBeGreaterThan(86);
  });

  it('makes messages with fresh ids and the overrides on top', () => {
    const fixtures = createFixtures();
    expect(fixtures.message()).toEqual({
      id: 'n-1',
      urgency: 'normal',
      title: 'Account locked',
      body: 'Open the app to unlock it.',
    });
    expect(fixtures.message({ urgency: 'high', url: 'https://portal.example.com/' })).toMatchObject({
      id: 'n-2',
      urgency: 'high',
      url: 'https://portal.example.com/',
    });
  });
});
