import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { childDN, dnKey, escapeDNValue, escapeFilterValue, formatDN, isUnder, parseDN } from './escape.js';
import { attributeRecordFilter, compileFilter } from './filter.js';

describe('RFC 4515 filter values', () => {
  it('escapes everything that could end an assertion or add a wildcard', () => {
    expect(escapeFilterValue('*)(uid=*')).toBe('\\2a\\29\\28uid=\\2a');
    expect(escapeFilterValue('a\\b')).toBe('a\\5cb');
    expect(escapeFilterValue('nul\u0000byte')).toBe('nul\\00byte');
    expect(escapeFilterValue('Zürich')).toBe('Z\\c3\\bcrich');
    expect(escapeFilterValue('plain value-1.2')).toBe('plain value-1.2');
  });

  it('compiles typed specs and refuses bad attribute names and empty branches', () => {
    expect(
      compileFilter({
        and: [
          { attribute: 'l', equals: 'zurich' },
          { or: [{ attribute: 'title', startsWith: 'Eng*' }, { not: { attribute: 'mail', present: true } }] },
        ],
      }),
    ).toBe('(&(l=zurich)(|(title=Eng\\2a*)(!(mail=*))))');
    expect(compileFilter({ attribute: 'memberOf', rule: '1.2.840.113556.1.4.1941', equals: 'cn=a,dc=b' })).toBe(
      '(memberOf:1.2.840.113556.1.4.1941:=cn=a,dc=b)',
    );
    for (const bad of [
      () => compileFilter({ attribute: 'uid)(cn=*', equals: 'x' }),
      () => compileFilter({ and: [] }),
      () => compileFilter({ attribute: 'memberOf', rule: '1.2)(x', equals: 'y' }),
      () => attributeRecordFilter({}),
    ]) {
      expect(bad).toThrow(expect.objectContaining({ code: 'ERR_LDAP_FILTER' }));
    }
  });

  it('turns an attribute record into an AND of ORs', () => {
    expect(compileFilter(attributeRecordFilter({ department: ['finance', 'it'], location: 'zurich' }))).toBe(
      '(&(|(department=finance)(department=it))(location=zurich))',
    );
  });
});

describe('RFC 4514 distinguished names', () => {
  it('escapes specials, leading # and spaces, trailing spaces and NUL', () => {
    expect(escapeDNValue('Smith, John+admin')).toBe('Smith\\, John\\+admin');
    expect(escapeDNValue('#1 ')).toBe('\\#1\\ ');
    expect(escapeDNValue(' lead')).toBe('\\ lead');
    expect(escapeDNValue('a"b;c<d>e\\f=g')).toBe('a\\"b\\;c\\<d\\>e\\\\f\\=g');
    expect(escapeDNValue('nul\u0000')).toBe('nul\\00');
  });

  it('parses escapes, hex pairs and multi-valued RDNs, and round-trips', () => {
    const dn = 'cn=Smith\\, John+uid=js,ou=Z\\C3\\BCrich,dc=example,dc=com';
    const parsed = parseDN(dn);
    expect(parsed[0]).toEqual([
      { type: 'cn', value: 'Smith, John' },
      { type: 'uid', value: 'js' },
    ]);
    expect(parsed[1]).toEqual([{ type: 'ou', value: 'Zürich' }]);
    expect(parseDN(formatDN(parsed))).toEqual(parsed);
    expect(dnKey('UID=Bob, OU=People,DC=Example')).toBe(dnKey('uid=bob,ou=people,dc=example'));
  });

  it('refuses malformed DNs', () => {
    for (const bad of ['uid', 'uid=a,', 'uid=a\\', 'uid=a\\zz', 'uid=#04', 'u id=a', 'uid=a;b', 'uid=a"b']) {
      let caught: unknown;
      try {
        parseDN(bad);
      } catch (error) {
        caught = error;
      }
      expect(isIdrelayError(caught, 'ERR_LDAP_DN'), bad).toBe(true);
    }
  });

  it('keeps a hostile value inside its own RDN', () => {
    const dn = childDN('cn', 'x,ou=groups,dc=example,dc=test+cn=y', 'uid=alice,ou=people,dc=example,dc=test');
    const parsed = parseDN(dn);
    expect(parsed).toHaveLength(5);
    expect(parsed[0]).toEqual([{ type: 'cn', value: 'x,ou=groups,dc=example,dc=test+cn=y' }]);
    expect(isUnder(dn, 'uid=alice,ou=people,dc=example,dc=test')).toBe(true);
    expect(isUnder(dn, 'ou=groups,dc=example,dc=test')).toBe(false);
  });
});
