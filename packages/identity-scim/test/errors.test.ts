import { createMemoryStore } from '@idrelay/testkit';
import { beforeEach, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken, type ScimHandler } from '../src/index.js';

const TOKEN = 'okta-token';
const BASE = 'https://relay.example.com/scim/v2';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let scim: ScimHandler;

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  return scim(new Request(`${BASE}${path}`, init));
}

async function expectError(response: Response, status: number, scimType?: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/scim+json');
  const body = (await response.json()) as Record<string, unknown>;
  expect(body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  expect(body.status).toBe(String(status));
  expect(body.scimType).toBe(scimType);
}

beforeEach(async () => {
  scim = createScimHandler({
    store: createMemoryStore(),
    tokens: [hashScimToken('other-tenant'), hashScimToken(TOKEN)],
    maxBodyBytes: 4096,
    newId: () => 'u-1',
  });
  expect((await call('POST', '/Users', { schemas: [USER], userName: 'alice@example.com' })).status).toBe(201);
});

describe('authentication (RFC 6750)', () => {
  it('answers 401 with WWW-Authenticate for a missing, wrong or non-bearer token', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${btoa(`x:${TOKEN}`)}`, `Bearer ${TOKEN}x`]) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      const response = await scim(new Request(`${BASE}/Users`, { headers }));
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await expectError(response, 401);
    }
  });

  it('accepts any configured token, and refuses options without a hashed token', async () => {
    expect((await call('GET', '/Users/u-1', undefined, { authorization: 'Bearer other-tenant' })).status).toBe(200);
    const store = createMemoryStore();
    expect(() => createScimHandler({ store, tokens: [] })).toThrow(TypeError);
    expect(() => createScimHandler({ store, tokens: ['plain-text-token'] })).toThrow(/SHA-256/);
  });
});

describe('bad input (RFC 7644 §3.12)', () => {
  it('refuses malformed JSON with invalidSyntax', async () => {
    await expectError(await call('POST', '/Users', '{"schemas": ['), 400, 'invalidSyntax');
  });

  it('refuses an unknown schema and a body without the User schema', async () => {
    await expectError(
      await call('POST', '/Users', { schemas: [USER, 'urn:example:evil'], userName: 'b' }),
      400,
      'invalidSyntax',
    );
    await expectError(await call('POST', '/Users', { userName: 'b' }), 400, 'invalidSyntax');
  });

  it('refuses an unknown attribute, in a body and in a PATCH path', async () => {
    await expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'b', shoeSize: 44 }),
      400,
      'invalidPath',
    );
    const patch = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'shoeSize', value: 44 }] };
    await expectError(await call('PATCH', '/Users/u-1', patch), 400, 'invalidPath');
  });

  it('refuses changes to id and meta with mutability', async () => {
    for (const path of ['id', 'meta', 'ID']) {
      const patch = { schemas: [PATCH], Operations: [{ op: 'replace', path, value: 'x' }] };
      await expectError(await call('PATCH', '/Users/u-1', patch), 400, 'mutability');
    }
  });

  it('refuses wrong value types, an unknown op and remove without a path', async () => {
    await expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'b', active: 'maybe' }),
      400,
      'invalidValue',
    );
    await expectError(await call('POST', '/Users', { schemas: [USER], userName: 42 }), 400, 'invalidValue');
    await expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'b', emails: [{ value: 'no-at' }] }),
      400,
      'invalidValue',
    );
    await expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'b', timezone: 'Mars/Olympus' }),
      400,
      'invalidValue',
    );
    const bad = { schemas: [PATCH], Operations: [{ op: 'merge', path: 'title', value: 'x' }] };
    await expectError(await call('PATCH', '/Users/u-1', bad), 400, 'invalidSyntax');
    await expectError(
      await call('PATCH', '/Users/u-1', { schemas: [PATCH], Operations: [{ op: 'remove' }] }),
      400,
      'noTarget',
    );
  });

  it('answers 409 uniqueness for an externalId another user of the tenant has (kept exactly)', async () => {
    let ids = 0;
    const unique = createScimHandler({
      store: createMemoryStore(),
      tokens: [hashScimToken(TOKEN)],
      newId: () => `x-${++ids}`,
    });
    const post = (userName: string, externalId: string) =>
      unique(
        new Request(`${BASE}/Users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({ schemas: [USER], userName, externalId }),
        }),
      );
    expect((await post('a', 'EXT-1')).status).toBe(201);
    expect((await post('b', 'ext-1')).status).toBe(201);
    const taken = await post('c', 'EXT-1');
    await expectError(taken, 409, 'uniqueness');
  });

  it('answers 409 uniqueness for a userName taken in another case, on POST and on rename', async () => {
    await expectError(
      await call('POST', '/Users', { schemas: [USER], userName: 'ALICE@example.com' }),
      409,
      'uniqueness',
    );
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    const big = { schemas: [USER], userName: 'b', displayName: 'x'.repeat(5000) };
    await expectError(await call('POST', '/Users', big), 413);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i += 1) controller.enqueue(new TextEncoder().encode(' '.repeat(1000)));
        controller.close();
      },
    });
    const request = new Request(`${BASE}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectError(await scim(request), 413);
  });

  it('answers 404 for an unknown user and an unknown resource type', async () => {
    await expectError(await call('GET', '/Users/nobody'), 404);
    await expectError(await call('GET', '/Devices'), 404);
  });

  it('refuses malformed filters and unknown attributes with invalidFilter', async () => {
    for (const filter of ['userName eq alice', 'nickName eq "x"', 'userName eq "a" or', '(', 'userName zz "a"']) {
      await expectError(await call('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
    }
    await expectError(await call('GET', '/Users?count=ten'), 400, 'invalidValue');
  });
});

describe('more hostile input', () => {
  it('accepts an e-mail with only a value (type and primary are optional, RFC 7643 §4.1.2)', async () => {
    const response = await call('POST', '/Users', {
      schemas: [USER],
      userName: 'b',
      emails: [{ value: 'b@example.com' }],
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ emails: [{ value: 'b@example.com' }] });
  });

  it('answers 404 for a malformed percent-encoded id instead of failing', async () => {
    await expectError(await call('GET', '/Users/%E0%A4%A'), 404);
  });

  it('answers 409 uniqueness when a rename takes another user’s userName or e-mail', async () => {
    let n = 1;
    const local = createScimHandler({
      store: createMemoryStore(),
      tokens: [hashScimToken(TOKEN)],
      newId: () => `v-${n++}`,
    });
    const send = (method: string, path: string, body: unknown) =>
      local(
        new Request(`${BASE}${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify(body),
        }),
      );
    const mail = (value: string) => [{ value, type: 'work', primary: true }];
    expect(
      (await send('POST', '/Users', { schemas: [USER], userName: 'a', emails: mail('a@example.com') })).status,
    ).toBe(201);
    expect(
      (await send('POST', '/Users', { schemas: [USER], userName: 'b', emails: mail('b@example.com') })).status,
    ).toBe(201);
    const rename = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'A' }] };
    await expectError(await send('PATCH', '/Users/v-2', rename), 409, 'uniqueness');
    await expectError(
      await send('POST', '/Users', { schemas: [USER], userName: 'c', emails: mail('A@example.com') }),
      409,
      'uniqueness',
    );
    // A user may change the case of their own userName.
    const own = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'userName', value: 'B' }] };
    expect((await send('PATCH', '/Users/v-2', own)).status).toBe(200);
  });
});
