import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot.js';

const snapshot = (order: 'forward' | 'reverse'): Snapshot => {
  const users: [string, Snapshot['users'] extends Map<string, infer V> ? V : never][] = [
    ['a@P', { n: 'a', a: { mail: ['a@example.com'] }, d: 1 }],
    ['b@P', { n: 'b', a: {}, l: 1, p: 1 }],
  ];
  const groups: [string, { n: string; m: string[] }][] = [
    ['g@P', { n: 'g', m: ['a@P'] }],
    ['h@P', { n: 'h', m: [] }],
  ];
  if (order === 'reverse') {
    users.reverse();
    groups.reverse();
  }
  return { users: new Map(users), groups: new Map(groups) };
};

const encodeRaw = (value: unknown) =>
  `otds1.${deflateRawSync(Buffer.from(JSON.stringify(value))).toString('base64url')}`;

describe('poller checkpoints', () => {
  it('round-trip, and the same directory in another order gives the same checkpoint', () => {
    const checkpoint = encodeSnapshot(snapshot('forward'));
    expect(encodeSnapshot(snapshot('reverse'))).toBe(checkpoint);
    const decoded = decodeSnapshot(checkpoint);
    expect([...decoded.users]).toEqual([...snapshot('forward').users]);
    expect([...decoded.groups]).toEqual([...snapshot('forward').groups]);
  });

  it('refuse entries of the wrong shape', () => {
    const bad = [
      { u: [['a@P', { n: 'a', a: { mail: 'not-a-list' } }]], g: [] },
      { u: [['a@P', { n: 'a', a: {}, d: true }]], g: [] },
      { u: [[7, { n: 'a', a: {} }]], g: [] },
      { u: [], g: [['g@P', { n: 'g', m: [1] }]] },
      { u: [], g: {} },
      [],
    ];
    for (const value of bad) expect(() => decodeSnapshot(encodeRaw(value))).toThrow(/checkpoint is unusable/);
  });

  it('keeps attribute names such as __proto__ as data', () => {
    const checkpoint = encodeRaw({ u: [['a@P', { n: 'a', a: JSON.parse('{"__proto__": ["x"]}') }]], g: [] });
    const user = decodeSnapshot(checkpoint).users.get('a@P');
    expect(Object.keys(user?.a ?? {})).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
