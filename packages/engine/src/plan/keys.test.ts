import { eventKey } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { bindAudience } from '../audience/bind-audience.js';
import { fillText } from '../render/fill-text.js';
import { notificationId } from './keys.js';

describe('keys', () => {
  it('derive stable notification ids from event and rule', () => {
    const key = eventKey({ source: 'https://iam', id: 'e-1' });
    expect(key).toBe('https://iam#e-1');
    expect(notificationId(key, 'r')).toBe(notificationId(key, 'r'));
    expect(notificationId(key, 'r')).not.toBe(notificationId(key, 's'));
    expect(notificationId(key, 'r')).toMatch(/^n-[\w-]{22}$/);
  });
});

describe('bindAudience', () => {
  const event = { data: { userId: 'u-1', approvers: ['a', 'b'], audience: { kind: 'group', groupId: 'g' } } };

  it('fills references, spreads arrays and takes whole specs', () => {
    expect(bindAudience({ kind: 'users', userIds: ['$data.approvers', 'c'] }, event)).toEqual({
      kind: 'users',
      userIds: ['a', 'b', 'c'],
    });
    expect(bindAudience('$data.audience', event)).toEqual({ kind: 'group', groupId: 'g' });
    expect(
      bindAudience({ kind: 'any-of', audiences: [{ kind: 'manager-of', userId: '$data.userId' }] }, event),
    ).toEqual({
      kind: 'any-of',
      audiences: [{ kind: 'manager-of', userId: 'u-1' }],
    });
  });

  it('says what is missing or malformed', () => {
    expect(bindAudience({ kind: 'manager-of', userId: '$data.managerId' }, event)).toEqual({
      missing: 'data.managerId',
    });
    expect(bindAudience({ kind: 'nonsense' }, event)).toHaveProperty('missing');
  });

  it('fills {{path}} text references', () => {
    expect(fillText('access:{{data.userId}}:{{data.none}}', event)).toBe('access:u-1:');
  });
});
