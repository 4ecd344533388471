import { isIdrelayError, type Store, type StoredUser } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { attributeQuery } from '../src/directory/audience.js';
import { SCHEMA_VERSION } from '../src/index.js';
import { testSchemas } from './helpers.js';

const postgres = await requirePostgres();

const user = (id: string, over: Partial<StoredUser> = {}): StoredUser => ({
  id,
  attributes: {},
  updatedAt: 1,
  ...over,
});

const ids = (rows: readonly { id: string }[]): string[] => rows.map((row) => row.id);

/** Every page of an attribute audience, `limit` users at a time. */
async function audience(store: Store, filter: Record<string, string[]>, limit: number): Promise<string[]> {
  const out: string[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.directory.usersByAttributes(filter, after === undefined ? { limit } : { after, limit });
    out.push(...ids(page));
    if (page.length < limit) return out;
    after = page[page.length - 1]!.id;
  }
}

describe.skipIf(!postgres.available)('PostgreSQL directory', () => {
  const schemas = testSchemas(postgres.url, 'directory');
  const open: Store[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  afterAll(() => schemas.dropAll());

  const fresh = async (): Promise<Store> => {
    const store = await schemas.open();
    open.push(store);
    return store;
  };

  /** Rows left in the directory's lookup tables for `userId`: none once the user is gone. */
  const leftovers = async (schema: string, userId: string): Promise<number> => {
    const { rows } = await schemas.admin.query(
      `SELECT (SELECT count(*) FROM "${schema}".directory_subjects WHERE user_id = $1)
            + (SELECT count(*) FROM "${schema}".directory_attributes WHERE user_id = $1)
            + (SELECT count(*) FROM "${schema}".directory_members WHERE user_id = $1)
            + (SELECT count(*) FROM "${schema}".directory_user_approvers WHERE user_id = $1) AS n`,
      [userId],
    );
    return Number(rows[0]?.n);
  };

  describe('on a directory of 20,000 users', () => {
    let store: Store;
    let schema: string;
    // 20,000 users: department cycles through 8 values, site through 5, every 10th user inactive.
    const departments = ['sales', 'it', 'finance', 'hr', 'legal', 'ops', 'rnd', 'support'];
    const sites = ['zurich', 'geneva', 'basel', 'bern', 'lugano'];
    const expected = (keep: (n: number) => boolean): string[] =>
      Array.from({ length: 20_000 }, (_, n) => n)
        .filter((n) => n % 10 !== 9 && keep(n))
        .map((n) => `u-${String(n).padStart(6, '0')}`);

    beforeAll(async () => {
      store = await schemas.open();
      schema = schemas.schemaOf(store);
      const s = `"${schema}"`;
      await schemas.admin.query(
        `INSERT INTO ${s}.directory_users (id, active, attributes, updated_at)
           SELECT 'u-' || lpad(n::text, 6, '0'), n % 10 <> 9,
             jsonb_build_object('department', ($1::text[])[n % 8 + 1], 'site', ($2::text[])[n % 5 + 1]), 1
           FROM generate_series(0, 19999) AS n;
         INSERT INTO ${s}.directory_attributes (name, value, user_id)
           SELECT k.key, k.value, u.id FROM ${s}.directory_users u, jsonb_each_text(u.attributes) k
           WHERE u.active;`
          .replaceAll('$1', `'{${departments}}'`)
          .replaceAll('$2', `'{${sites}}'`),
      );
      for (const table of ['directory_users', 'directory_attributes']) {
        await schemas.admin.query(`VACUUM ANALYZE ${s}.${table}`);
      }
    });
    afterAll(() => store.close());

    it('pages through a two-key audience (one key with several values) in id order, active users only', async () => {
      const filter = { department: ['it', 'hr', 'ops'], site: ['geneva'] };
      const want = expected((n) => [1, 3, 5].includes(n % 8) && n % 5 === 1);
      expect(want.length).toBeGreaterThan(1_000);
      for (const limit of [1_000, 77]) expect(await audience(store, filter, limit)).toEqual(want);
      // Swapping which key has fewer values changes the lead, not the answer.
      const swapped = { department: ['it'], site: ['geneva', 'basel', 'lugano'] };
      expect(await audience(store, swapped, 500)).toEqual(expected((n) => n % 8 === 1 && [1, 2, 4].includes(n % 5)));
    });

    it('answers an attribute audience by walking the (name, value, user_id) index, never a scan', async () => {
      const filter = { department: ['it', 'hr', 'ops'], site: ['geneva'] };
      for (const after of [undefined, 'u-010000']) {
        const { text, values } = attributeQuery(
          (name) => `"${schema}".${name}`,
          filter,
          after === undefined ? { limit: 500 } : { after, limit: 500 },
        );
        const { rows } = await schemas.admin.query(`EXPLAIN ${text}`, values);
        const plan = rows.map((row) => row['QUERY PLAN'] as string).join('\n');
        // The lead key walks its index in user-id order (index-only once vacuumed, as autovacuum leaves a table).
        expect(plan).toMatch(/Index (Only )?Scan using directory_attributes_pkey on directory_attributes a\b/);
        expect(plan).toContain('Index Scan using directory_users_pkey on directory_users');
        expect(plan).not.toMatch(/Seq Scan on directory_(attributes|users)/);
      }
    });

    it('reads one page in a handful of buffers: the walk stops after a page, however large the audience', async () => {
      // Everyone active in sales: 2,250 users. A page of 10 touches ~60 buffers; reading every match and sorting
      // (no walk) touches ~250.
      const { text, values } = attributeQuery(
        (name) => `"${schema}".${name}`,
        { department: ['sales'] },
        { limit: 10 },
      );
      const { rows } = await schemas.admin.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
      type Explained = { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } };
      const [{ Plan: plan }] = rows[0]!['QUERY PLAN'] as [Explained];
      expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(150);
    });
  });

  it('keeps a subject for the first of two users racing for it; the other gets ERR_DIRECTORY_CONFLICT', async () => {
    const store = await fresh();
    const subjects = [{ format: 'email' as const, email: 'shared@example.com' }];
    const results = await Promise.allSettled(
      ['racer-1', 'racer-2', 'racer-3'].map((id) =>
        store.directory.putUser(user(id, { subjects, attributes: { team: id } })),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(isIdrelayError(r.reason, 'ERR_DIRECTORY_CONFLICT')).toBe(true);
    }
    const winner = await store.directory.findBySubject(['email:shared@example.com']);
    // The losers left nothing behind: no user row, no attribute rows.
    expect(ids(await store.directory.listUsers({ limit: 10 }))).toEqual([winner!.id]);
    expect(await audience(store, { team: ['racer-1', 'racer-2', 'racer-3'] }, 10)).toEqual([winner!.id]);
  });

  it('refuses addMembers naming a missing user or group with ERR_DIRECTORY_NOT_FOUND and adds none', async () => {
    const store = await fresh();
    await store.directory.putUser(user('alice'));
    await store.directory.putGroup({ id: 'admins', updatedAt: 1 });
    await store.directory.putGroup({ id: 'ops', updatedAt: 1 });
    const error = await store.directory
      .addMembers('admins', { users: ['alice', 'ghost'], groups: ['ops', 'nowhere'] })
      .catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_DIRECTORY_NOT_FOUND')).toBe(true);
    expect((error as { details?: unknown }).details).toMatchObject({
      missingUsers: ['ghost'],
      missingGroups: ['nowhere'],
    });
    expect(await store.directory.memberIds('admins', { limit: 10 })).toEqual([]);
    expect(await store.directory.childGroups(['admins'])).toEqual([]);
    await expect(store.directory.addMembers('ghost-group', {})).rejects.toSatisfy((e) =>
      isIdrelayError(e, 'ERR_DIRECTORY_NOT_FOUND'),
    );
    expect(await store.directory.addMembers('admins', { users: ['alice', 'alice'], groups: ['ops'] })).toEqual({
      added: 2,
    });
  });

  it('leaves no lookup rows behind when a user or group is removed (ON DELETE CASCADE)', async () => {
    const store = await fresh();
    const schema = schemas.schemaOf(store);
    await store.directory.putUser(
      user('alice', { subjects: [{ format: 'opaque', id: 'a-1' }], attributes: { role: ['dev', 'ops'] } }),
    );
    await store.directory.putGroup({ id: 'admins', updatedAt: 1 });
    await store.directory.putGroup({ id: 'root', updatedAt: 1 });
    await store.directory.addMembers('admins', { users: ['alice'] });
    await store.directory.addMembers('root', { groups: ['admins'] });
    await store.directory.setApprovers('app-1', { users: ['alice'], groups: ['admins'] });
    expect(await leftovers(schema, 'alice')).toBe(5);

    expect(await store.directory.removeUser('alice')).toBe(true);
    expect(await leftovers(schema, 'alice')).toBe(0);
    expect(await store.directory.removeGroup('admins')).toBe(true);
    expect(await store.directory.childGroups(['root'])).toEqual([]);
    expect(await store.directory.getApprovers('app-1')).toEqual({ users: [], groups: [] });
  });

  it('drops a deactivated user from attribute audiences and brings them back when reactivated', async () => {
    const store = await fresh();
    const alice = user('alice', { attributes: { site: 'hq', role: ['a', 'b'] } });
    await store.directory.putUser(user('bob', { attributes: { site: 'hq', role: 'a' } }));
    await store.directory.putUser(alice);
    expect(await audience(store, { site: ['hq'], role: ['a'] }, 1)).toEqual(['alice', 'bob']);
    await store.directory.putUser({ ...alice, active: false });
    expect(await audience(store, { site: ['hq'], role: ['a'] }, 1)).toEqual(['bob']);
    expect(await audience(store, { role: ['b'] }, 1)).toEqual([]);
    expect((await store.directory.getUser('alice'))?.attributes).toEqual(alice.attributes);
    await store.directory.putUser(alice);
    expect(await audience(store, { role: ['b'] }, 1)).toEqual(['alice']);
  });

  it('adds the directory to a schema of the previous version, keeping its rows', async () => {
    const { store, eventKey } = await schemas.openAtPreviousVersion();
    open.push(store);
    expect(await store.migrate()).toMatchObject({ to: SCHEMA_VERSION });
    expect((await store.events.get(eventKey))?.key).toBe(eventKey);
    await store.directory.putUser(user('alice', { attributes: { site: 'hq' } }));
    expect(ids(await store.directory.usersByAttributes({ site: ['hq'] }, { limit: 5 }))).toEqual(['alice']);
  });
});
