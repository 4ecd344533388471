import { createEvent, encodeSubjectAttribute } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { defineTemplate } from '../render/template.js';
import { evaluateRules } from '../rules/evaluate-rules.js';
import { defineRules } from '../rules/rule.js';
import { readPath } from './read-path.js';

const alice = { format: 'email', email: 'alice@example.com' } as const;
const locked = createEvent(
  'idrelay.account.locked',
  { userId: 'u-1', reason: 'risk' },
  { source: '/t', id: '1', idrelaysubject: alice },
);

describe('readPath and the idrelaysubject attribute', () => {
  it('reads the decoded RFC 9493 identifier where the event carries base64url JSON', () => {
    expect(locked.idrelaysubject).toBe(encodeSubjectAttribute(alice));
    expect(readPath(locked, 'idrelaysubject')).toEqual(alice);
    expect(readPath(locked, 'idrelaysubject.format')).toBe('email');
    expect(readPath(locked, 'idrelaysubject.email')).toBe('alice@example.com');
    expect(readPath({ ...locked, user: { id: 'u-1' } }, 'idrelaysubject.email')).toBe('alice@example.com');
  });

  it('decodes only the top-level attribute, and reads a value no event could hold as absent', () => {
    const nested = { data: { idrelaysubject: encodeSubjectAttribute(alice) } };
    expect(readPath(nested, 'data.idrelaysubject')).toBe(encodeSubjectAttribute(alice));
    expect(readPath({ idrelaysubject: 'not base64url JSON!' }, 'idrelaysubject.email')).toBeUndefined();
    expect(readPath({}, 'idrelaysubject.email')).toBeUndefined();
  });

  it('lets declarative rules test, bind and fill from the subject', async () => {
    const rules = defineRules([
      {
        id: 'by-subject',
        types: ['account.locked'],
        when: [{ path: 'idrelaysubject.format', equals: 'email' }],
        notify: {
          audience: { kind: 'subjects', subjects: ['$idrelaysubject'] },
          category: 'account',
          collapseId: 'lock:{{idrelaysubject.email}}',
        },
      },
    ]);
    const { intents, trail } = await evaluateRules(rules, locked, { user: async () => undefined });
    expect(trail[0]?.matched).toBe(true);
    expect(intents[0]?.audience).toEqual({ kind: 'subjects', subjects: [alice] });
    expect(intents[0]?.collapseId).toBe('lock:alice@example.com');
  });

  it('lets templates show a member of the subject', () => {
    const template = defineTemplate({
      key: 'idrelay.account.locked',
      fields: { who: { path: 'idrelaysubject.email', lockScreenSafe: true } },
      title: 'Locked: {{who}}',
    });
    expect(template.render(locked).title).toBe('Locked: alice@example.com');
  });
});
