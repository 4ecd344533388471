import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError, type Store, type StoredUser } from '@idrelay/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MERGED_VALUES } from '../src/directory/audience-query.js';
import { createSqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'idrelay-directory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: Store[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

async function fileStore(name: string): Promise<Store> {
  const store = await createSqliteStore({ path: join(dir, `${name}.db`) });
  open.push(store);
  return store;
}

const user = (id: string, attributes: StoredUser['attributes'], over: Partial<StoredUser> = {}): StoredUser => ({
  id,
  attributes,
  updatedAt: 1,
  ...over,
});

/** Every id of an audience, page by page. */
async function readAll(read: (page: { after?: string; limit: number }) => Promise<StoredUser[]>, limit: number) {
  const ids: string[] = [];
  for (;;) {
    const page = await read(ids.length === 0 ? { limit } : { after: ids[ids.length - 1]!, limit });
    expect(page.length).toBeLessThanOrEqual(limit);
    ids.push(...page.map((u) => u.id));
    if (page.length < limit) return ids;
  }
}

const pad = (i: number) => `u-${String(i).padStart(4, '0')}`;

describe('the SQLite directory', () => {
  it('answers a filter the same way whichever key drives it, merged or sorted, across many pages', async () => {
    const store = await fileStore('filters');
    // 400 users: site cycles over 7 values, role over 3 (multi-valued: everyone is also 'staff'), team over 90.
    for (let i = 0; i < 400; i++) {
      await store.directory.putUser(
        user(
          pad(i),
          { site: `s-${i % 7}`, role: ['staff', `r-${i % 3}`], team: `t-${i % 90}` },
          { active: i % 11 === 0 ? false : undefined },
        ),
      );
    }
    const expected = (match: (i: number) => boolean) =>
      Array.from({ length: 400 }, (_, i) => i)
        .filter((i) => i % 11 !== 0 && match(i))
        .map(pad);

    const twoKeys = { site: ['s-1', 's-4'], role: ['r-2'] };
    const want = expected((i) => (i % 7 === 1 || i % 7 === 4) && i % 3 === 2);
    expect(want.length).toBeGreaterThan(20);
    for (const limit of [1, 7, 500]) {
      expect(await readAll((page) => store.directory.usersByAttributes(twoKeys, page), limit)).toEqual(want);
    }

    // More values than one query merges: read through one IN and a sort, same answer.
    const teams = Array.from({ length: MERGED_VALUES + 6 }, (_, i) => `t-${i}`);
    const wantTeams = expected((i) => i % 90 < teams.length && i % 7 === 3);
    const manyValues = { team: teams, site: ['s-3'] };
    expect(await readAll((page) => store.directory.usersByAttributes(manyValues, page), 5)).toEqual(wantTeams);
    const teamsOnly = await readAll((page) => store.directory.usersByAttributes({ team: teams }, page), 13);
    expect(teamsOnly).toEqual(expected((i) => i % 90 < teams.length));

    // An empty filter is every active user; a key without values matches nobody.
    expect(await readAll((page) => store.directory.usersByAttributes({}, page), 50)).toEqual(expected(() => true));
    expect(await store.directory.usersByAttributes({ site: [] }, { limit: 10 })).toEqual([]);
  });

  it('leaves a deactivated user out of attribute audiences and brings them back when reactivated', async () => {
    const store = await fileStore('reactivate');
    const filter = { role: ['admin'] };
    await store.directory.putUser(user('alice', { role: ['admin', 'dev'] }));
    await store.directory.putUser(user('alice', { role: ['admin', 'dev'] }, { active: false }));
    expect(await store.directory.usersByAttributes(filter, { limit: 10 })).toEqual([]);
    // Still read back whole while inactive.
    expect((await store.directory.getUser('alice'))?.attributes).toEqual({ role: ['admin', 'dev'] });
    await store.directory.putUser(user('alice', { role: ['admin', 'dev'] }, { active: true }));
    expect((await store.directory.usersByAttributes(filter, { limit: 10 })).map((u) => u.id)).toEqual(['alice']);
  });

  it('pages group audiences over more groups than one query merges', async () => {
    const store = await fileStore('groups');
    const groups = Array.from({ length: MERGED_VALUES + 10 }, (_, i) => `g-${String(i).padStart(3, '0')}`);
    for (const id of groups) await store.directory.putGroup({ id, updatedAt: 1 });
    for (let i = 0; i < 200; i++) {
      await store.directory.putUser(user(pad(i), {}, i === 7 ? { active: false } : {}));
      await store.directory.addMembers(groups[i % groups.length]!, { users: [pad(i)] });
      await store.directory.addMembers(groups[(i * 5) % groups.length]!, { users: [pad(i)] });
    }
    const everyone = Array.from({ length: 200 }, (_, i) => pad(i)).filter((id) => id !== pad(7));
    expect(await readAll((page) => store.directory.usersInGroups(groups, page), 9)).toEqual(everyone);
    expect(await readAll((page) => store.directory.usersInGroups(groups.slice(0, 2), page), 3)).toEqual(
      everyone.filter((id) => {
        const i = Number(id.slice(2));
        return i % groups.length < 2 || (i * 5) % groups.length < 2;
      }),
    );
  });

  it('cascades removals through foreign keys on a reopened file, and never through a replace', async () => {
    const file = 'cascade';
    let store = await fileStore(file);
    await store.directory.putUser(user('alice', { role: 'admin' }, { subjects: [{ format: 'opaque', id: 'a-1' }] }));
    await store.directory.putGroup({ id: 'g', updatedAt: 1 });
    await store.directory.addMembers('g', { users: ['alice'] });
    // A replace keeps memberships: an upsert, not a delete and insert that would cascade.
    await store.directory.putUser(user('alice', { role: 'dev' }, { subjects: [{ format: 'opaque', id: 'a-1' }] }));
    await store.directory.putGroup({ id: 'g', name: 'renamed', updatedAt: 2 });
    expect(await store.directory.memberIds('g', { limit: 10 })).toEqual(['alice']);
    await store.close();

    store = await fileStore(file);
    expect(await store.directory.removeUser('alice')).toBe(true);
    expect(await store.directory.memberIds('g', { limit: 10 })).toEqual([]);
    expect(await store.directory.findBySubject(['opaque:a-1'])).toBeUndefined();
    expect(await store.directory.usersByAttributes({ role: ['dev'] }, { limit: 10 })).toEqual([]);
  });

  it('refuses page sizes and id lists beyond the port with a TypeError, and calls after close()', async () => {
    const store = await createSqliteStore({ path: ':memory:' });
    for (const limit of [0, 10_001, 1.5, Number.NaN]) {
      await expect(store.directory.listUsers({ limit })).rejects.toThrow(TypeError);
      await expect(store.directory.usersByAttributes({ a: ['b'] }, { limit })).rejects.toThrow(/page\.limit/);
    }
    const ids = Array.from({ length: 10_001 }, (_, i) => `u-${i}`);
    await expect(store.directory.getUsers(ids)).rejects.toThrow(/at most 10000 ids/);
    await store.close();
    await expect(store.directory.getUser('alice')).rejects.toSatisfy((error) =>
      isIdrelayError(error, 'ERR_STORE_CLOSED'),
    );
  });

  it('names every missing id when members are refused', async () => {
    const store = await fileStore('missing');
    await store.directory.putGroup({ id: 'g', updatedAt: 1 });
    await store.directory.putUser(user('alice', {}));
    const error = await store.directory
      .addMembers('g', { users: ['alice', 'ghost', 'ghost'], groups: ['nope'] })
      .catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_DIRECTORY_NOT_FOUND')).toBe(true);
    expect((error as { details?: unknown }).details).toEqual({ groups: ['nope'], users: ['ghost'] });
    expect(await store.directory.memberIds('g', { limit: 10 })).toEqual([]);
  });
});
