import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, generalizedTime, parseGeneralizedTime } from './checkpoint.js';
import { applyMods, parseReqMods, parseReqOld } from './req-mod.js';

describe('accesslog reqMod and reqOld', () => {
  it('groups modifications per attribute and operation, keeping values with colons and spaces', () => {
    const mods = parseReqMods([
      'member:+ uid=a,ou=people,dc=x',
      'member:+ uid=b,ou=people,dc=x',
      'member:- uid=c,ou=people,dc=x',
      'description:= a: b ',
      'title:-',
      'cn:=',
      'loginCount:# 1',
      'not a mod line',
    ]);
    expect(mods).toEqual([
      { attribute: 'member', op: 'add', values: ['uid=a,ou=people,dc=x', 'uid=b,ou=people,dc=x'] },
      { attribute: 'member', op: 'delete', values: ['uid=c,ou=people,dc=x'] },
      { attribute: 'description', op: 'replace', values: ['a: b '] },
      { attribute: 'title', op: 'delete', values: [] },
      { attribute: 'cn', op: 'replace', values: [] },
      { attribute: 'loginCount', op: 'increment', values: ['1'] },
    ]);
  });

  it('applies modifications to old values the way the server did', () => {
    expect(applyMods(['a', 'b'], parseReqMods(['x:+ c', 'x:- a']))).toEqual(['b', 'c']);
    expect(applyMods(['a'], parseReqMods(['x:-']))).toEqual([]);
    expect(applyMods(['a'], parseReqMods(['x:= z']))).toEqual(['z']);
    expect(applyMods([], parseReqMods(['x:+ a', 'x:+ a']))).toEqual(['a']);
  });

  it('reads reqOld case-insensitively with repeated attributes', () => {
    const old = parseReqOld(['uid: alice', 'Mail: a@x', 'mail: b@x', 'garbage']);
    expect(old.get('uid')).toEqual(['alice']);
    expect(old.get('mail')).toEqual(['a@x', 'b@x']);
  });
});

describe('checkpoints and generalized time', () => {
  it('round-trips a checkpoint and refuses another mode or a tampered position', () => {
    const checkpoint = {
      v: 1 as const,
      mode: 'accesslog' as const,
      position: '20261203114707.514173Z',
      lockedIds: ['a'],
    };
    expect(decodeCheckpoint(encodeCheckpoint(checkpoint), 'accesslog')).toEqual(checkpoint);
    for (const [text, mode] of [
      [encodeCheckpoint(checkpoint), 'modifyTimestamp'],
      ['{"v":1,"mode":"uSNChanged","position":"12a"}', 'uSNChanged'],
      ['{"v":2,"mode":"accesslog","position":"20261203114707Z"}', 'accesslog'],
      ['{"v":1,"mode":"accesslog","position":"20261203114707Z","lockedIds":[1]}', 'accesslog'],
      ['null', 'accesslog'],
    ] as const) {
      let caught: unknown;
      try {
        decodeCheckpoint(text, mode);
      } catch (error) {
        caught = error;
      }
      expect(isIdrelayError(caught, 'ERR_LDAP_CHECKPOINT'), text).toBe(true);
    }
  });

  it('formats and parses LDAP generalized time', () => {
    const ms = Date.UTC(2026, 11, 3, 11, 47, 7, 514);
    expect(generalizedTime(ms)).toBe('20261203114707Z');
    expect(generalizedTime(ms, true)).toBe('20261203114707.514000Z');
    expect(parseGeneralizedTime('20261203114707.514173Z')).toBe(ms);
    expect(parseGeneralizedTime('000001010000Z')).toBeDefined();
    expect(parseGeneralizedTime('yesterday')).toBeUndefined();
  });
});
