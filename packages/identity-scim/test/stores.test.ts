import type { Store } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createStoreDirectory } from '@idrelay/engine';
import { createPostgresStore } from '@idrelay/store-postgres';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { randomSchemaName, requirePostgres } from '@idrelay/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createScimHandler, hashScimToken } from '../src/index.js';

const TOKEN = 't';
const BASE = 'https://relay.example.com/scim/v2';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const postgres = await requirePostgres();
const opened: { store: Store; schema?: string }[] = [];

afterAll(async () => {
  const admin = postgres.available ? new pg.Client({ connectionString: postgres.url }) : undefined;
  await admin?.connect();
  for (const { store, schema } of opened.splice(0)) {
    await store.close();
    if (schema !== undefined) await admin?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
  await admin?.end();
});

async function provisionAndResolve(store: Store): Promise<void> {
  const directory = createStoreDirectory(store);
  const events: IdentityEvent[] = [];
  const scim = createScimHandler({
    store,
    tokens: [hashScimToken(TOKEN)],
    emit: (batch) => void events.push(...batch),
  });
  const call = (method: string, path: string, body?: unknown) =>
    scim(
      new Request(`${BASE}${path}`, {
        method,
        headers: { authorization: `Bearer ${TOKEN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );
  const ids: string[] = [];
  for (const [userName, department] of [
    ['Alice@Example.com', 'finance'],
    ['bob@example.com', 'finance'],
    ['carol@example.com', 'it'],
  ] as const) {
    const response = await call('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      userName,
      emails: [{ value: userName, type: 'work', primary: true }],
      [ENTERPRISE]: { department, manager: { value: 'carol' } },
    });
    expect(response.status).toBe(201);
    ids.push(((await response.json()) as { id: string }).id);
  }
  const found = (await (
    await call('GET', `/Users?filter=${encodeURIComponent('userName eq "alice@example.com"')}`)
  ).json()) as {
    Resources: { id: string }[];
  };
  expect(found.Resources.map((user) => user.id)).toEqual([ids[0]]);

  const off = {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
  };
  expect((await call('PATCH', `/Users/${ids[1]}`, off)).status).toBe(200);

  // The relay's audiences see what SCIM wrote: the deactivated user is out of the department audience.
  const finance: string[] = [];
  for await (const user of directory.resolve({ kind: 'attributes', filter: { department: 'finance' } }))
    finance.push(user.id);
  expect(finance).toEqual([ids[0]]);
  const managed = await directory.getUser(ids[0] ?? '');
  expect(managed?.managerId).toBe('carol');
  expect(events.map((event) => event.type)).toEqual([
    'idrelay.user.created',
    'idrelay.user.created',
    'idrelay.user.created',
    'idrelay.user.deactivated',
    'idrelay.account.disabled',
  ]);

  // Groups, members (the deactivated one included), keyset paging and a full filter on the real store.
  const group = await call('POST', '/Groups', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: 'Finance',
    members: [{ value: ids[0] }, { value: ids[1] }],
  });
  const groupId = ((await group.json()) as { id: string }).id;
  const listed = (await (await call('GET', '/Groups?filter=displayName eq "finance"')).json()) as {
    Resources: { members: { value: string }[] }[];
  };
  expect(listed.Resources[0]?.members.map((member) => member.value)).toEqual([ids[0], ids[1]].sort());
  const pages: string[] = [];
  for (const startIndex of [1, 3]) {
    const page = (await (await call('GET', `/Users?startIndex=${startIndex}&count=2`)).json()) as {
      totalResults: number;
      Resources: { id: string }[];
    };
    expect(page.totalResults).toBe(3);
    pages.push(...page.Resources.map((user) => user.id));
  }
  expect(pages).toEqual([...ids].sort());
  const filter = encodeURIComponent('emails[type eq "work" and value co "EXAMPLE.com"] and active eq true');
  const active = (await (await call('GET', `/Users?filter=${filter}&sortBy=userName&sortOrder=descending`)).json()) as {
    Resources: { userName: string }[];
  };
  expect(active.Resources.map((user) => user.userName)).toEqual(['carol@example.com', 'Alice@Example.com']);
  events.length = 0;
  expect((await call('DELETE', `/Groups/${groupId}`)).status).toBe(204);
  expect(events.map((event) => event.type)).toEqual(['idrelay.group.member.removed', 'idrelay.group.member.removed']);
}

describe('SCIM users in the real stores', () => {
  it('provisions into SQLite and audiences resolve from it', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    opened.push({ store });
    await provisionAndResolve(store);
  });

  it.skipIf(!postgres.available)('provisions into PostgreSQL and audiences resolve from it', async () => {
    const schema = randomSchemaName('scim');
    const store = await createPostgresStore({ connectionString: postgres.url, schema });
    opened.push({ store, schema });
    await provisionAndResolve(store);
  });
});
