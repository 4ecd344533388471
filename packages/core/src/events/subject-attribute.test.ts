import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isIdrelayError } from '../errors/idrelay-error.js';
import { SubjectIdentifierSchema } from '../subjects/subject-identifier.js';
import { decodeSubjectAttribute, encodeSubjectAttribute, eventSubject } from './subject-attribute.js';

const alice = { format: 'email', email: 'alice@example.com' } as const;

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('the idrelaysubject encoding', () => {
  it('is base64url of the JSON with members sorted, so the same identifier always encodes the same', () => {
    const encoded = encodeSubjectAttribute(alice);
    expect(encoded).toBe('eyJlbWFpbCI6ImFsaWNlQGV4YW1wbGUuY29tIiwiZm9ybWF0IjoiZW1haWwifQ');
    expect(encodeSubjectAttribute({ email: 'alice@example.com', format: 'email' })).toBe(encoded);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('round-trips every format, aliases and non-ASCII text included (property)', () => {
    const simple = fc.oneof(
      fc.record({
        format: fc.constant('opaque' as const),
        id: fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
      }),
      fc.record({
        format: fc.constant('iss_sub' as const),
        iss: fc.webUrl(),
        sub: fc.string({ minLength: 1, unit: 'grapheme' }),
      }),
      fc.emailAddress().map((email) => ({ format: 'email' as const, email })),
      fc.constant({ format: 'phone_number' as const, phone_number: '+12065550100' }),
      fc.constant({ format: 'did' as const, url: 'did:example:123' }),
    );
    const subject = fc.oneof(
      simple,
      fc
        .array(simple, { minLength: 1, maxLength: 4 })
        .map((identifiers) => ({ format: 'aliases' as const, identifiers })),
    );
    fc.assert(
      fc.property(subject, (value) => {
        fc.pre(SubjectIdentifierSchema.safeParse(value).success);
        expect(decodeSubjectAttribute(encodeSubjectAttribute(value))).toEqual(value);
      }),
      { numRuns: 150 },
    );
  });

  it('decodes JSON in any member order but only the canonical base64url spelling', () => {
    const reordered = Buffer.from('{"format":"email","email":"alice@example.com"}').toString('base64url');
    expect(decodeSubjectAttribute(reordered)).toEqual(alice);
    const padded = `${encodeSubjectAttribute(alice)}=`;
    expect(
      isIdrelayError(
        thrown(() => decodeSubjectAttribute(padded)),
        'ERR_SUBJECT_INVALID',
      ),
    ).toBe(true);
    // Base64 text whose last character carries unused bits has other spellings of the same bytes; only the one
    // with those bits clear is canonical (RFC 4648 §3.5).
    const canonical = encodeSubjectAttribute({ format: 'opaque', id: 'ab' });
    expect(canonical.length % 4).not.toBe(0);
    const last = canonical.at(-1)!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sloppy = `${canonical.slice(0, -1)}${alphabet[alphabet.indexOf(last) + 1]}`;
    expect(Buffer.from(sloppy, 'base64url').equals(Buffer.from(canonical, 'base64url'))).toBe(true);
    expect((thrown(() => decodeSubjectAttribute(sloppy)) as Error).message).toMatch(/canonical/);
  });

  it('refuses an invalid identifier with ERR_SUBJECT_INVALID and the failing path', () => {
    const error = thrown(() => encodeSubjectAttribute({ format: 'email', email: 'nope' }));
    expect(isIdrelayError(error, 'ERR_SUBJECT_INVALID')).toBe(true);
    expect((error as { details: { issues: Array<{ path: string }> } }).details.issues[0]?.path).toBe('email');
  });
});

describe('eventSubject', () => {
  it('decodes the attribute, reads an object stored by earlier versions, and is undefined without one', () => {
    expect(eventSubject({ idrelaysubject: encodeSubjectAttribute(alice) })).toEqual(alice);
    expect(eventSubject({ idrelaysubject: alice })).toEqual(alice);
    expect(eventSubject({})).toBeUndefined();
  });

  it('throws ERR_SUBJECT_INVALID on a hand-built event with a bad value', () => {
    expect(
      isIdrelayError(
        thrown(() => eventSubject({ idrelaysubject: 'alice' })),
        'ERR_SUBJECT_INVALID',
      ),
    ).toBe(true);
  });
});
