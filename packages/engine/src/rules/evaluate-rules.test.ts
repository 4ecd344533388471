import { createEvent, EVENT_TYPES } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { defaultRules } from './default-rules.js';
import { evaluateRules } from './evaluate-rules.js';
import { type CodeRule, type DeclarativeRule, defineRules } from './rule.js';

const noUser = { user: async () => undefined };
const locked = createEvent('idrelay.account.locked', { userId: 'u-1', reason: 'risk' }, { source: '/t', id: '1' });

describe('defineRules', () => {
  const ok: DeclarativeRule = {
    id: 'r',
    types: ['account.locked'],
    notify: { audience: { kind: 'users', userIds: ['x'] }, category: 'c' },
  };

  it('expands short type names and area wildcards', () => {
    const [rule] = defineRules([{ ...ok, types: ['account.*'] }]);
    expect((rule as DeclarativeRule).types).toEqual(['idrelay.account.*']);
  });

  it.each([
    ['a missing id', { ...ok, id: '' }],
    ['an unknown type', { ...ok, types: ['account.exploded'] }],
    ['no types', { ...ok, types: [] }],
    ['a condition without path', { ...ok, when: [{ equals: 1 } as never] }],
    ['a bad pattern', { ...ok, when: [{ path: 'data.x', matches: '(' }] }],
    ['no category', { ...ok, notify: { audience: ok.notify.audience, category: '' } }],
    ['no audience', { ...ok, notify: { category: 'c' } as never }],
    ['a zero digest window', { ...ok, notify: { ...ok.notify, digest: { windowMs: 0 } } }],
  ])('refuses %s with ERR_RULE_INVALID', (_name, rule) => {
    expect(() => defineRules([rule as DeclarativeRule])).toThrow(expect.objectContaining({ code: 'ERR_RULE_INVALID' }));
  });

  it('refuses duplicate ids', () => {
    expect(() => defineRules([ok, ok])).toThrow(expect.objectContaining({ code: 'ERR_RULE_INVALID' }));
  });
});

describe('evaluateRules', () => {
  it('evaluates in order, binds $references, fills collapse ids and explains every verdict', async () => {
    const rules = defineRules([
      {
        id: 'wrong-reason',
        types: ['account.locked'],
        when: [{ path: 'data.reason', equals: 'administrator' }],
        notify: { audience: { kind: 'users', userIds: ['$data.userId'] }, category: 'a' },
      },
      {
        id: 'to-user',
        types: ['account.locked'],
        when: [{ path: 'data.reason', in: ['risk', 'policy'] }],
        notify: {
          audience: { kind: 'users', userIds: ['$data.userId'] },
          category: 'account',
          collapseId: 'lock:{{data.userId}}',
        },
      },
      {
        id: 'to-manager',
        types: ['account.*'],
        notify: { audience: { kind: 'manager-of', userId: '$data.userId' }, category: 'account' },
        final: true,
      },
      {
        id: 'never',
        types: ['account.locked'],
        notify: { audience: { kind: 'users', userIds: ['x'] }, category: 'x' },
      },
    ]);
    const { intents, trail } = await evaluateRules(rules, locked, noUser);
    expect(intents.map((i) => [i.ruleId, i.audience])).toEqual([
      ['to-user', { kind: 'users', userIds: ['u-1'] }],
      ['to-manager', { kind: 'manager-of', userId: 'u-1' }],
    ]);
    expect(intents[0]).toMatchObject({
      collapseId: 'lock:u-1',
      urgency: 'normal',
      critical: false,
      template: 'idrelay.account.locked',
    });
    expect(trail).toEqual([
      { ruleId: 'wrong-reason', matched: false, reason: 'condition failed: data.reason = "administrator"' },
      { ruleId: 'to-user', matched: true, reason: 'type matched; data.reason in ["risk","policy"]' },
      { ruleId: 'to-manager', matched: true, reason: 'type matched' },
    ]);
  });

  it('conditions on the subject user load the directory user once', async () => {
    let lookups = 0;
    const rules = defineRules([
      {
        id: 'finance',
        types: ['account.locked'],
        when: [{ path: 'user.attributes.department', equals: 'finance' }],
        notify: { audience: { kind: 'users', userIds: ['$data.userId'] }, category: 'a' },
      },
      {
        id: 'not-it',
        types: ['account.locked'],
        when: [{ path: 'user.attributes.department', equals: 'it', not: true }],
        notify: { audience: { kind: 'users', userIds: ['$data.userId'] }, category: 'b' },
      },
    ]);
    const context = {
      user: async () => {
        lookups++;
        return { id: 'u-1', attributes: { department: 'finance' } };
      },
    };
    const { intents } = await evaluateRules(rules, locked, context);
    expect(intents.map((i) => i.ruleId)).toEqual(['finance', 'not-it']);
    expect(lookups).toBe(1);
  });

  it('reports a missing audience reference instead of addressing nobody silently', async () => {
    const rules = defineRules([
      {
        id: 'm',
        types: ['account.locked'],
        notify: { audience: { kind: 'manager-of', userId: '$data.managerId' }, category: 'a' },
      },
    ]);
    const { intents, trail } = await evaluateRules(rules, locked, noUser);
    expect(intents).toEqual([]);
    expect(trail[0]).toMatchObject({ matched: false, reason: 'type matched; but audience needs data.managerId' });
  });

  it('runs code rules, reports skips, invalid results and exceptions, and keeps going', async () => {
    const rules = defineRules([
      { id: 'skip', evaluate: () => ({ skip: 'not today' }) },
      {
        id: 'boom',
        evaluate: () => {
          throw new Error('bug');
        },
      },
      { id: 'bad', evaluate: () => ({ audience: { kind: 'users', userIds: ['a'] }, category: '' }) },
      {
        id: 'vip',
        types: ['account.locked'],
        evaluate: async (_e, ctx) =>
          (await ctx.user())
            ? undefined
            : { audience: { kind: 'group', groupId: 'soc' }, category: 'security-alert', critical: true },
      },
    ] satisfies CodeRule[]);
    const { intents, trail } = await evaluateRules(rules, locked, noUser);
    expect(intents).toMatchObject([{ ruleId: 'vip', critical: true, urgency: 'high', priority: 50 }]);
    expect(trail.map((t) => [t.ruleId, t.matched])).toEqual([
      ['skip', false],
      ['boom', false],
      ['bad', false],
      ['vip', true],
    ]);
    expect(trail[1]!.reason).toBe('threw: bug');
  });

  it('the default rules validate and every catalogue area has a rule', () => {
    const rules = defineRules(defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }));
    const areas = new Set(EVENT_TYPES.map((t) => t.split('.')[1]));
    areas.delete('notification');
    areas.delete('preference');
    for (const area of areas) {
      expect(
        rules.some((r) => r.types?.some((t) => t.startsWith(`idrelay.${area}`))),
        area,
      ).toBe(true);
    }
  });
});
