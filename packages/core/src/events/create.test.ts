import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VALID_DATA } from '../../test/samples.js';
import { type SubjectIdentifier, SubjectIdentifierSchema } from '../subjects/subject-identifier.js';
import { EVENT_TYPES } from './catalogue/index.js';
import { createEvent, serializeEvent } from './create.js';
import { parseEvent } from './parse.js';
import { eventSubject } from './subject-attribute.js';

describe('createEvent', () => {
  it('fills specversion, id, time and datacontenttype', () => {
    const now = new Date('2026-11-23T12:00:00.000Z');
    const event = createEvent(
      'idrelay.account.enabled',
      { userId: 'u-1' },
      { source: '/connectors/ldap', now: () => now },
    );
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/connectors/ldap',
      type: 'idrelay.account.enabled',
      time: '2026-11-23T12:00:00.000Z',
      datacontenttype: 'application/json',
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(createEvent('idrelay.account.enabled', { userId: 'u-1' }, { source: 's' }).id).not.toBe(event.id);
  });

  it('keeps a producer-supplied id so retries dedupe', () => {
    const event = createEvent('idrelay.user.deleted', { userId: 'u-1' }, { source: 's', id: 'scim-42' });
    expect(event.id).toBe('scim-42');
  });

  it('validates data and options', () => {
    // @ts-expect-error reason is not in the catalogue's list
    expect(() => createEvent('idrelay.account.locked', { userId: 'u', reason: 'bored' }, { source: 's' })).toThrow(
      expect.objectContaining({ code: 'ERR_EVENT_INVALID' }),
    );
    expect(() => createEvent('idrelay.user.deleted', { userId: 'u' }, { source: 'not a uri' })).toThrow(/source/);
    // @ts-expect-error not a catalogue type
    expect(() => createEvent('idrelay.nope', {}, { source: 's' })).toThrow(
      expect.objectContaining({ code: 'ERR_EVENT_TYPE_UNKNOWN' }),
    );
  });

  it('encodes idrelaysubject as a String attribute that decodes to the identifier given', () => {
    const subject: SubjectIdentifier = {
      format: 'aliases',
      identifiers: [
        { format: 'email', email: 'zoë@example.com' },
        { format: 'opaque', id: 'u-1' },
      ],
    };
    const event = createEvent('idrelay.account.enabled', { userId: 'u-1' }, { source: 's', idrelaysubject: subject });
    expect(event.idrelaysubject).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(eventSubject(event)).toEqual(subject);
    const bad = () =>
      createEvent(
        'idrelay.account.enabled',
        { userId: 'u-1' },
        { source: 's', idrelaysubject: { format: 'email', email: 'x' } },
      );
    expect(bad).toThrow(
      expect.objectContaining({ code: 'ERR_EVENT_INVALID', message: expect.stringMatching(/idrelaysubject\.email/) }),
    );
  });

  it('refuses extension values CloudEvents has no type for', () => {
    expect(() =>
      createEvent('idrelay.account.enabled', { userId: 'u-1' }, { source: 's', extensions: { ratio: 0.5 } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_EVENT_INVALID', message: expect.stringMatching(/ratio/) }));
  });

  it('does not mutate the caller’s data', () => {
    const data = { userId: 'u-1', reason: 'policy' as const };
    const frozen = Object.freeze({ ...data });
    createEvent('idrelay.account.locked', frozen, { source: 's' });
    expect(frozen).toEqual(data);
  });

  const subjectArb = fc.oneof(
    fc.record({ format: fc.constant('opaque' as const), id: fc.string({ minLength: 1, maxLength: 40 }) }),
    fc.record({
      format: fc.constant('iss_sub' as const),
      iss: fc.webUrl(),
      sub: fc.string({ minLength: 1, maxLength: 40 }),
    }),
    fc.emailAddress().map((email) => ({ format: 'email' as const, email })),
  );

  it('round-trips through JSON for every type, id, source, time, subject and extension (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EVENT_TYPES),
        fc.string({ minLength: 1, maxLength: 64 }),
        fc.webUrl(),
        fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        fc.option(fc.string({ minLength: 1, maxLength: 64 }), { nil: undefined }),
        fc.option(subjectArb, { nil: undefined }),
        fc.dictionary(fc.stringMatching(/^x[a-z0-9]{0,19}$/), fc.oneof(fc.string(), fc.integer(), fc.boolean()), {
          maxKeys: 3,
        }),
        (type, id, source, time, subject, idrelaysubject, extensions) => {
          fc.pre(SubjectIdentifierSchema.safeParse(idrelaysubject ?? { format: 'opaque', id: 'x' }).success);
          const created = createEvent(type, VALID_DATA[type] as never, {
            id,
            source,
            time,
            subject,
            idrelaysubject,
            extensions,
          });
          const reparsed = parseEvent(JSON.parse(serializeEvent(created)));
          expect(reparsed).toEqual(created);
          expect(serializeEvent(reparsed)).toBe(serializeEvent(created));
        },
      ),
      { numRuns: 200 },
    );
  }, 30_000);
});
