import { createMemoryStore } from '@idrelay/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../src/filter/parse-filter.js';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const TOKEN = 'filter-token';
const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

let scim: ScimHandler;
let clock = Date.parse('2026-01-01T00:00:00Z');

function call(method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}` } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

/** The userNames a filter selects, in id order. */
async function select(filter: string): Promise<string[]> {
  const response = await call('GET', `/Users?filter=${encodeURIComponent(filter)}`);
  const body = (await response.json()) as { Resources?: { userName: string }[]; scimType?: string; detail?: string };
  if (response.status !== 200) throw new Error(`${response.status} ${body.scimType}: ${body.detail}`);
  return (body.Resources ?? []).map((user) => user.userName);
}

async function refused(filter: string): Promise<{ status: number; scimType?: string; detail: string }> {
  const response = await call('GET', `/Users?filter=${encodeURIComponent(filter)}`);
  return { ...((await response.json()) as { scimType?: string; detail: string }), status: response.status };
}

beforeAll(async () => {
  let ids = 0;
  scim = createScimHandler({
    store: createMemoryStore(),
    tokens: [hashScimToken(TOKEN)],
    newId: () => `u-${++ids}`,
    now: () => new Date(clock),
  });
  const people = [
    {
      userName: 'Alice@Example.com',
      title: 'Engineer',
      department: 'finance',
      active: true,
      work: 'alice@example.com',
    },
    { userName: 'bob@example.com', title: 'Manager', department: 'sales', active: false, work: 'bob@corp.test' },
    { userName: 'carol@example.org', department: 'finance', active: true, home: 'carol@home.test' },
    { userName: 'dave@example.org', externalId: 'EXT-4', active: true },
  ];
  for (const person of people) {
    clock += 86_400_000; // one day apart, so lastModified compares
    const emails = [];
    if (person.work !== undefined) emails.push({ type: 'work', value: person.work, primary: true });
    if (person.home !== undefined) emails.push({ type: 'home', value: person.home });
    const response = await call('POST', '/Users', {
      schemas: [USER, ENTERPRISE],
      userName: person.userName,
      externalId: person.externalId,
      title: person.title,
      active: person.active,
      emails,
      [ENTERPRISE]: person.department === undefined ? {} : { department: person.department },
    });
    expect(response.status).toBe(201);
  }
});

describe('filter operators (RFC 7644 §3.4.2.2)', () => {
  it('eq and ne: userName without case (caseExact=false), externalId and id exactly', async () => {
    expect(await select('userName eq "alice@example.com"')).toEqual(['Alice@Example.com']);
    expect(await select('USERNAME EQ "ALICE@EXAMPLE.COM"')).toEqual(['Alice@Example.com']);
    expect(await select('externalId eq "EXT-4"')).toEqual(['dave@example.org']);
    expect(await select('externalId eq "ext-4"')).toEqual([]);
    expect(await select('id eq "u-2"')).toEqual(['bob@example.com']);
    expect(await select('id eq "U-2"')).toEqual([]);
    expect(await select('title ne "Engineer"')).toEqual(['bob@example.com', 'carol@example.org', 'dave@example.org']);
  });

  it('co, sw, ew', async () => {
    expect(await select('userName co "EXAMPLE.ORG"')).toEqual(['carol@example.org', 'dave@example.org']);
    expect(await select('userName sw "b"')).toEqual(['bob@example.com']);
    expect(await select('userName ew ".com"')).toEqual(['Alice@Example.com', 'bob@example.com']);
    expect(await select('emails co "corp"')).toEqual(['bob@example.com']);
  });

  it('gt, ge, lt, le on strings and on dateTime (meta.lastModified)', async () => {
    expect(await select('userName gt "carol@example.org"')).toEqual(['dave@example.org']);
    expect(await select('userName ge "carol@example.org"')).toEqual(['carol@example.org', 'dave@example.org']);
    expect(await select('userName lt "b"')).toEqual(['Alice@Example.com']);
    expect(await select('userName le "bob@example.com"')).toEqual(['Alice@Example.com', 'bob@example.com']);
    expect(await select('meta.lastModified gt "2026-01-03T12:00:00Z"')).toEqual([
      'carol@example.org',
      'dave@example.org',
    ]);
    expect(await select('meta.lastModified le "2026-01-02T00:00:00.000Z"')).toEqual(['Alice@Example.com']);
  });

  it('pr, booleans (also Entra\'s "False") and null', async () => {
    expect(await select('title pr')).toEqual(['Alice@Example.com', 'bob@example.com']);
    expect(await select('active eq false')).toEqual(['bob@example.com']);
    expect(await select('active eq "False"')).toEqual(['bob@example.com']);
    expect(await select('title eq null')).toEqual(['carol@example.org', 'dave@example.org']);
  });

  it('and, or, not, grouping with not > and > or', async () => {
    expect(await select('title pr and active eq true')).toEqual(['Alice@Example.com']);
    expect(await select('userName sw "a" or userName sw "d"')).toEqual(['Alice@Example.com', 'dave@example.org']);
    // and binds tighter than or: a or (b and c)
    expect(await select('userName sw "a" or title pr and active eq false')).toEqual([
      'Alice@Example.com',
      'bob@example.com',
    ]);
    expect(await select('(userName sw "a" or title pr) and active eq false')).toEqual(['bob@example.com']);
    expect(await select('not (title pr) and active eq true')).toEqual(['carol@example.org', 'dave@example.org']);
    expect(await select('not(not(userName sw "c"))')).toEqual(['carol@example.org']);
  });

  it('value paths, the enterprise extension by URN, and an indexed userName inside and', async () => {
    expect(await select('emails[type eq "work" and value co "@example.com"]')).toEqual(['Alice@Example.com']);
    expect(await select('emails[type eq "home"]')).toEqual(['carol@example.org']);
    expect(await select('emails[not (type eq "work")]')).toEqual(['carol@example.org']);
    expect(await select('emails.type eq "work"')).toEqual(['Alice@Example.com', 'bob@example.com']);
    expect(await select(`${ENTERPRISE}:department eq "FINANCE"`)).toEqual(['Alice@Example.com', 'carol@example.org']);
    expect(await select('userName eq "bob@example.com" and active eq true')).toEqual([]);
    expect(await select('userName eq "bob@example.com" and active eq false')).toEqual(['bob@example.com']);
  });
});

describe('hostile and invalid filters', () => {
  it('refuses syntax errors with invalidFilter and says where', async () => {
    for (const filter of [
      'userName eq',
      'userName eq "a" and',
      '(userName pr',
      'userName eq "unterminated',
      'not userName pr',
      'emails[type eq "work"',
      'userName ~ "a"',
      '',
    ]) {
      const answer = await refused(filter);
      expect(answer, filter).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    }
    expect((await refused('userName eq "a" )')).detail).toMatch(/unexpected/);
  });

  it('refuses unknown attributes and comparisons the type does not have', async () => {
    for (const filter of [
      'nickName eq "x"',
      'name.middleName eq "x"',
      'emails[nope eq "x"]',
      'active gt true',
      'active eq "yes"',
      'meta.lastModified gt "yesterday"',
      'meta.lastModified co "2026"',
      'title eq 42',
      'name eq "x"',
      'userName[value eq "x"]',
      'emails[type eq "work"][type eq "home"]',
      'emails[type eq "a" and emails[type eq "b"]]',
      `urn:example:unknown:2.0:User:department eq "x"`,
    ]) {
      expect(await refused(filter), filter).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    }
  });

  it('bounds length, depth and size before evaluating anything', async () => {
    const deep = `${'('.repeat(40)}userName pr${')'.repeat(40)}`;
    expect(await refused(deep)).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    const nots = `${'not ('.repeat(40)}userName pr${')'.repeat(40)}`;
    expect(await refused(nots)).toMatchObject({ status: 400, scimType: 'invalidFilter' });
    const huge = `userName eq "${'a'.repeat(10_000)}"`;
    expect((await refused(huge)).detail).toMatch(/longer than 4096/);
    const wide = Array.from({ length: 100 }, (_, i) => `userName eq "${i}"`).join(' or ');
    expect((await refused(wide)).detail).toMatch(/more than 64 expressions/);
    expect(() => parseFilter('a eq "\u0001"')).toThrow(/malformed string/);
  });

  it('parses into the expected tree', () => {
    expect(parseFilter('a pr or b pr and not (c eq "x")')).toEqual({
      kind: 'or',
      left: { kind: 'present', path: 'a' },
      right: {
        kind: 'and',
        left: { kind: 'present', path: 'b' },
        right: { kind: 'not', filter: { kind: 'compare', path: 'c', operator: 'eq', value: 'x' } },
      },
    });
    expect(parseFilter('x ge -1.5e2')).toEqual({ kind: 'compare', path: 'x', operator: 'ge', value: -150 });
    expect(parseFilter('x eq "\\u00e9\\"q"')).toMatchObject({ value: 'é"q' });
  });
});
