import { describe, expect, it } from 'vitest';
import { envelope, VALID_DATA } from '../../test/samples.js';
import { parseEvent, safeParseEvent } from './parse.js';
import { encodeSubjectAttribute, eventSubject } from './subject-attribute.js';

const locked = (extra: Record<string, unknown> = {}) =>
  envelope('idrelay.account.locked', VALID_DATA['idrelay.account.locked'], extra);

function failures(input: unknown): Array<{ path: string; message: string }> {
  const result = safeParseEvent(input);
  if (result.success) throw new Error('expected the event to be refused');
  expect(result.error.code).toBe('ERR_EVENT_INVALID');
  return result.error.details?.issues ?? [];
}

const paths = (input: unknown) => failures(input).map((issue) => issue.path);

describe('the envelope accepts what CloudEvents 1.0 allows', () => {
  it('needs no time: an event without one parses and stays without one', () => {
    const { time: _, ...untimed } = locked();
    const event = parseEvent(untimed);
    expect(event).not.toHaveProperty('time');
    expect(event.id).toBe('evt-idrelay.account.locked');
  });

  it('takes datacontenttype with parameters, any JSON media type, or none at all', () => {
    for (const type of ['application/json; charset=utf-8', 'application/JSON', 'application/vnd.acme.event+json']) {
      expect(parseEvent(locked({ datacontenttype: type })).datacontenttype).toBe(type);
    }
    const { datacontenttype: _, ...bare } = locked();
    expect(parseEvent(bare)).not.toHaveProperty('datacontenttype');
  });

  it('keeps a dataschema URI', () => {
    const dataschema = 'https://idrelay.dev/schemas/events/idrelay.account.locked.json';
    expect(parseEvent(locked({ dataschema })).dataschema).toBe(dataschema);
  });

  it('treats attributes set to null as unset (JSON format §2.2)', () => {
    const event = parseEvent(locked({ subject: null, time: null, tenant: null, idrelaysubject: null }));
    for (const name of ['subject', 'time', 'tenant', 'idrelaysubject']) expect(event).not.toHaveProperty(name);
  });

  it('keeps String, Boolean and 32-bit Integer extension values', () => {
    const extensions = { tenant: 'acme', sampled: true, retries: -2_147_483_648, shard: 2_147_483_647 };
    expect(parseEvent(locked(extensions))).toMatchObject(extensions);
  });

  it('accepts attribute names longer than 20 characters (a SHOULD NOT in §3.1.1, not a MUST)', () => {
    expect(parseEvent(locked({ averyveryverylongattribute: 'x' })).averyveryverylongattribute).toBe('x');
  });
});

describe('the envelope refuses what CloudEvents 1.0 forbids, naming the path', () => {
  it('specversion other than exactly 1.0', () => {
    for (const specversion of ['0.3', '1', '1.0.2', 1]) expect(paths(locked({ specversion }))).toContain('specversion');
    const { specversion: _, ...none } = locked();
    expect(paths(none)).toContain('specversion');
  });

  it('missing or empty id, source and type', () => {
    expect(paths(locked({ id: '', source: '' }))).toEqual(expect.arrayContaining(['id', 'source']));
    const { type: _, ...untyped } = locked();
    expect(paths(untyped)).toContain('type');
  });

  it('a non-JSON datacontenttype, since idrelay events carry JSON data', () => {
    const issues = failures(locked({ datacontenttype: 'text/plain' }));
    expect(issues).toContainEqual(expect.objectContaining({ path: 'datacontenttype' }));
    expect(issues.find((i) => i.path === 'datacontenttype')?.message).toMatch(/JSON media type/);
  });

  it('a dataschema that is not an absolute URI', () => {
    expect(paths(locked({ dataschema: '/schemas/x.json' }))).toContain('dataschema');
  });

  it('structured, fractional and out-of-range extension values', () => {
    expect(paths(locked({ tenant: { id: 'acme' }, tags: ['a'], ratio: 0.5, big: 2 ** 31 }))).toEqual(
      expect.arrayContaining(['tenant', 'tags', 'ratio', 'big']),
    );
    expect(failures(locked({ tenant: { id: 'acme' } }))[0]?.message).toMatch(/Strings, Integers or Booleans/);
  });

  it('control characters and noncharacters in attribute strings', () => {
    expect(paths(locked({ subject: 'a\u0007b', tenant: 'x\u0085', note: 'y\uFFFE', id: 'z\uD800' }))).toEqual(
      expect.arrayContaining(['subject', 'tenant', 'note', 'id']),
    );
    // data is not an attribute: its strings are JSON's business.
    const data = { ...VALID_DATA['idrelay.account.locked'], note: 'line 1\nline 2' };
    expect(parseEvent(envelope('idrelay.account.locked', data)).data).toMatchObject({ note: 'line 1\nline 2' });
  });

  it('binary data (data_base64)', () => {
    const { data: _, ...attributes } = locked();
    const issues = failures({ ...attributes, data_base64: 'e30' });
    expect(issues.find((i) => i.path === 'data_base64')?.message).toMatch(/JSON in "data"/);
  });
});

describe('idrelaysubject, a String attribute', () => {
  const alice = { format: 'email', email: 'alice@example.com' } as const;

  it('accepts the base64url form and decodes to the identifier', () => {
    const value = encodeSubjectAttribute(alice);
    const event = parseEvent(locked({ idrelaysubject: value }));
    expect(event.idrelaysubject).toBe(value);
    expect(eventSubject(event)).toEqual(alice);
  });

  it('normalises the object form earlier versions sent to the String form', () => {
    const event = parseEvent(locked({ idrelaysubject: { format: 'iss_sub', iss: 'https://idp', sub: '42' } }));
    expect(typeof event.idrelaysubject).toBe('string');
    expect(eventSubject(event)).toEqual({ format: 'iss_sub', iss: 'https://idp', sub: '42' });
    expect(event.idrelaysubject).toBe(encodeSubjectAttribute({ format: 'iss_sub', iss: 'https://idp', sub: '42' }));
  });

  it('refuses an invalid identifier in either form with the path inside it', () => {
    const bad = { format: 'email', email: 'not-an-email' };
    expect(paths(locked({ idrelaysubject: bad }))).toContain('idrelaysubject.email');
    const encoded = Buffer.from(JSON.stringify(bad)).toString('base64url');
    expect(paths(locked({ idrelaysubject: encoded }))).toContain('idrelaysubject.email');
  });

  it('refuses text that is not base64url JSON, and other types', () => {
    const notJson = Buffer.from('alice@example.com').toString('base64url');
    for (const value of ['alice@example.com', `${encodeSubjectAttribute(alice)}==`, notJson, 42, true, ['x']]) {
      expect(paths(locked({ idrelaysubject: value })), String(value)).toContain('idrelaysubject');
    }
  });
});
