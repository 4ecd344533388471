import { describe, expect, it } from 'vitest';
import { buildPayload, toTopic } from './build-payload.js';

describe('toTopic', () => {
  it('keeps short base64url collapse ids and hashes the rest to 32 characters', () => {
    expect(toTopic('approval-42')).toBe('approval-42');
    const long = toTopic('access.requested:tenant-7:request-1234567890');
    expect(long).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(toTopic('access.requested:tenant-7:request-1234567890')).toBe(long);
    expect(toTopic('access.requested:tenant-7:request-1234567891')).not.toBe(long);
    expect(toTopic('x'.repeat(33))).toHaveLength(32);
  });
});

describe('buildPayload', () => {
  it('renders what showNotification needs, with actions, tag and web options', () => {
    const payload = buildPayload({
      id: 'n1',
      title: 'Approve?',
      body: 'Alice asks for admin',
      urgency: 'high',
      threadId: 'req-42',
      category: 'approval',
      actions: [
        { id: 'approve', title: 'Approve' },
        { id: 'deny', title: 'Deny', destructive: true },
      ],
      data: { requestId: 'req-42' },
      platform: { webpush: { icon: '/i.png', url: '/requests/42', requireInteraction: true } },
    });
    expect(payload).toEqual({
      id: 'n1',
      title: 'Approve?',
      body: 'Alice asks for admin',
      urgency: 'high',
      category: 'approval',
      tag: 'req-42',
      actions: [
        { action: 'approve', title: 'Approve' },
        { action: 'deny', title: 'Deny', destructive: true },
      ],
      icon: '/i.png',
      url: '/requests/42',
      requireInteraction: true,
      data: { requestId: 'req-42' },
    });
  });

  it('puts the deep link in data.url for notificationclick, and in url unless the template set one', () => {
    const linked = buildPayload({ id: 'n2', urgency: 'high', title: 't', url: 'https://portal.example.com/a' });
    expect(linked).toMatchObject({
      url: 'https://portal.example.com/a',
      data: { url: 'https://portal.example.com/a' },
    });
    const both = buildPayload({
      id: 'n3',
      urgency: 'high',
      url: 'https://portal.example.com/b',
      data: { url: 'stale', requestId: 'r' },
      platform: { webpush: { url: '/requests/42' } },
    });
    expect(both.url).toBe('/requests/42');
    expect(both.data).toEqual({ url: 'https://portal.example.com/b', requestId: 'r' });
    expect(buildPayload({ id: 'n4', urgency: 'low' })).not.toHaveProperty('url');
  });
});
