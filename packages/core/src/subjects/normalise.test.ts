import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseSubject, subjectKey, subjectKeys, subjectsMatch } from './normalise.js';
import type { SimpleSubjectIdentifier, SubjectIdentifier } from './subject-identifier.js';

const email = (e: string): SimpleSubjectIdentifier => ({ format: 'email', email: e });

describe('subject identifiers (RFC 9493)', () => {
  it('accepts every format of RFC 9493 §3.2', () => {
    const all: SubjectIdentifier[] = [
      { format: 'account', uri: 'acct:alice@example.com' },
      email('alice@example.com'),
      { format: 'iss_sub', iss: 'https://idp.example.com/', sub: '145234573' },
      { format: 'opaque', id: '11112222333344445555' },
      { format: 'phone_number', phone_number: '+12065550100' },
      { format: 'did', url: 'did:example:123456' },
      { format: 'uri', uri: 'https://example.com/users/1' },
      { format: 'aliases', identifiers: [email('a@example.com'), { format: 'opaque', id: 'x' }] },
    ];
    for (const subject of all) expect(normaliseSubject(subject).format).toBe(subject.format);
  });

  it('refuses malformed identifiers with ERR_SUBJECT_INVALID and the failing path', () => {
    const cases: unknown[] = [
      { format: 'email', email: 'no-at-sign' },
      { format: 'phone_number', phone_number: '2065550100' },
      { format: 'iss_sub', iss: 'https://idp' },
      { format: 'account', uri: 'mailto:alice@example.com' },
      { format: 'aliases', identifiers: [{ format: 'aliases', identifiers: [] }] },
      { format: 'unknown', id: 'x' },
      'alice@example.com',
    ];
    for (const input of cases) {
      expect(() => normaliseSubject(input), JSON.stringify(input)).toThrow(
        expect.objectContaining({ code: 'ERR_SUBJECT_INVALID' }),
      );
    }
  });

  it('treats email domains as case-insensitive always and local parts by default', () => {
    expect(subjectsMatch(email('Alice@Example.COM'), email('alice@example.com'))).toBe(true);
    expect(
      subjectsMatch(email('Alice@example.com'), email('alice@example.com'), { caseSensitiveLocalPart: true }),
    ).toBe(false);
    expect(
      subjectsMatch(email('alice@EXAMPLE.com'), email('alice@example.com'), { caseSensitiveLocalPart: true }),
    ).toBe(true);
    expect(normaliseSubject(email('Bob@Example.org'))).toEqual(email('bob@example.org'));
  });

  it('compares iss_sub, opaque and did exactly', () => {
    const a: SubjectIdentifier = { format: 'iss_sub', iss: 'https://idp.example.com', sub: 'ABC' };
    expect(subjectsMatch(a, { ...a, sub: 'abc' })).toBe(false);
    expect(subjectsMatch({ format: 'opaque', id: 'X1' }, { format: 'opaque', id: 'x1' })).toBe(false);
  });

  it('reduces phone numbers to + and digits', () => {
    expect(subjectKey({ format: 'phone_number', phone_number: '+1 (206) 555-0100' })).toBe('phone_number:+12065550100');
  });

  it('lower-cases URI schemes and hosts but not paths', () => {
    expect(subjectKey({ format: 'uri', uri: 'HTTPS://Example.COM/Users/Alice' })).toBe(
      'uri:https://example.com/Users/Alice',
    );
    expect(subjectKey({ format: 'account', uri: 'acct:Alice@Example.com' })).toBe('account:acct:alice@example.com');
  });

  it('matches an alias set against any of its members, in both directions', () => {
    const aliases: SubjectIdentifier = {
      format: 'aliases',
      identifiers: [{ format: 'opaque', id: 'u-1' }, email('Alice@example.com')],
    };
    expect(subjectsMatch(aliases, email('alice@EXAMPLE.com'))).toBe(true);
    expect(subjectsMatch(email('alice@example.com'), aliases)).toBe(true);
    expect(subjectsMatch(aliases, { format: 'opaque', id: 'u-2' })).toBe(false);
  });

  it('flattens duplicate aliases', () => {
    const subject = normaliseSubject({
      format: 'aliases',
      identifiers: [email('A@x.io'), email('a@X.io'), { format: 'opaque', id: '1' }],
    });
    expect(subject).toEqual({ format: 'aliases', identifiers: [email('a@x.io'), { format: 'opaque', id: '1' }] });
    expect(subjectKeys(subject)).toEqual(['email:a@x.io', 'opaque:1']);
  });

  it('normalisation is idempotent and matching is reflexive and symmetric (property)', () => {
    const simple = fc.oneof(
      fc.emailAddress().map(email),
      fc.string({ minLength: 1, maxLength: 30 }).map((id) => ({ format: 'opaque' as const, id })),
      fc.webUrl().map((uri) => ({ format: 'uri' as const, uri })),
    );
    const subject = fc.oneof(
      simple,
      fc
        .array(simple, { minLength: 1, maxLength: 4 })
        .map((identifiers) => ({ format: 'aliases' as const, identifiers })),
    );
    fc.assert(
      fc.property(subject, subject, (a, b) => {
        const n = normaliseSubject(a);
        expect(normaliseSubject(n)).toEqual(n);
        expect(subjectsMatch(a, a)).toBe(true);
        expect(subjectsMatch(a, b)).toBe(subjectsMatch(b, a));
        expect(subjectsMatch(a, n)).toBe(true);
      }),
      { numRuns: 200 },
    );
  }, 30_000);
});
