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
});
