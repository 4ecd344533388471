import { type DirectoryStore, isIdrelayError, type Store, type StoredUser } from '@idrelay/core';
import { createMemoryStore, seedStoreDirectory } from '@idrelay/testkit';
import { directoryContract } from '@idrelay/testkit/contracts';
import { describe, expect, it } from 'vitest';
import { createStoreDirectory } from './store-directory.js';

directoryContract({
  name: 'store directory (memory store)',
  create: (fixture) => seedStoreDirectory(createStoreDirectory(createMemoryStore()), fixture),
});

const T = 1_767_225_600_000;
const clock = { now: () => T };

async function ids(iterable: AsyncIterable<{ id: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item.id);
  return out;
}

/** The issues of the `ERR_DIRECTORY_INVALID` a call rejects with, as `path: message` lines. */
async function issuesOf(call: Promise<unknown>): Promise<string[]> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isIdrelayError(error, 'ERR_DIRECTORY_INVALID')) throw new Error(`expected ERR_DIRECTORY_INVALID, got ${error}`);
  const issues = (error.details as { issues: Array<{ path: string; message: string }> }).issues;
  return issues.map((issue) => `${issue.path}: ${issue.message}`);
}

/** A store whose directory port counts calls per method. */
function counted(store: Store): { store: Store; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const directory = new Proxy(store.directory, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls[String(property)] = (calls[String(property)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as DirectoryStore;
  return { store: { ...store, directory }, calls };
}

describe('createStoreDirectory: writes', () => {
  it('stores subjects normalised, the locale canonical and updatedAt from the clock, and returns the record before', async () => {
    const directory = createStoreDirectory(createMemoryStore(), { clock });
    const first = await directory.putUser({
      id: 'alice',
      subjects: [{ format: 'email', email: 'Alice@Example.COM' }],
      locale: 'de-ch',
      timeZone: 'Europe/Zurich',
      attributes: { department: 'finance' },
    });
    expect(first).toEqual({
      created: true,
      user: {
        id: 'alice',
        subjects: [{ format: 'email', email: 'alice@example.com' }],
        locale: 'de-CH',
        timeZone: 'Europe/Zurich',
        attributes: { department: 'finance' },
        updatedAt: T,
      },
    });
    const second = await directory.putUser({ id: 'alice', active: false });
    expect(second.previous).toEqual(first.user);
    expect(await directory.getUser('alice')).toEqual({ id: 'alice', attributes: {}, active: false, updatedAt: T });
  });

  it('refuses malformed users with one issue per problem, and writes nothing', async () => {
    const directory = createStoreDirectory(createMemoryStore());
    const issues = await issuesOf(
      directory.putUser({
        id: 'bad\u0000id',
        managerId: 'bad\u0000id',
        locale: 'not a locale!',
        timeZone: 'Mars/Olympus_Mons',
        subjects: [{ format: 'email', email: 'nobody' } as never],
        attributes: {
          '': 'empty name',
          ['n'.repeat(129)]: 'long name',
          long: 'v'.repeat(1_025),
          many: Array.from({ length: 101 }, (_, i) => `${i}`),
          nested: { not: 'a string' } as never,
        },
        colour: 'blue',
      } as never),
    );
    expect(issues).toEqual([
      'colour: unknown field',
      'id: control characters and lone surrogates are not allowed',
      'attributes.: expected an attribute name of 1-128 characters',
      `attributes.${'n'.repeat(129)}: expected an attribute name of 1-128 characters`,
      'attributes.long: expected a string of at most 1024 characters',
      'attributes.many: at most 100 values',
      'attributes.nested: expected a string or an array of strings',
      expect.stringMatching(/^subjects\.0\.email: /),
      'locale: expected a BCP 47 language tag such as de-CH',
      'timeZone: expected an IANA time zone such as Europe/Zurich',
      'managerId: control characters and lone surrogates are not allowed',
    ]);
    expect(await ids(directory.listUsers())).toEqual([]);
  });

  it('refuses ids out of bounds, a user managing themselves, too many attributes, and input that is no object', async () => {
    const directory = createStoreDirectory(createMemoryStore());
    expect(await issuesOf(directory.putUser({ id: '' }))).toEqual(['id: expected an id of 1-512 characters']);
    expect(await issuesOf(directory.putUser({ id: 'x'.repeat(513) }))).toEqual([
      'id: expected an id of 1-512 characters',
    ]);
    expect(await issuesOf(directory.putUser({ id: '\ud800x' }))).toEqual([
      'id: control characters and lone surrogates are not allowed',
    ]);
    expect(await issuesOf(directory.putUser({ id: 'a', managerId: 'a' }))).toEqual([
      'managerId: a user cannot be their own manager',
    ]);
    const attributes = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`a${i}`, 'v']));
    expect(await issuesOf(directory.putUser({ id: 'a', attributes }))).toEqual(['attributes: at most 200 attributes']);
    expect(await issuesOf(directory.putUser(null as never))).toEqual([': expected a user object']);
    expect(await issuesOf(directory.putGroup({ id: 'g', privileged: 'yes' } as never))).toEqual([
      'privileged: expected a boolean',
    ]);
    expect(await issuesOf(directory.addMembers('g', { users: ['ok', 7 as never] }))).toEqual([
      'members.users.1: expected an id of 1-512 characters',
    ]);
    expect(await issuesOf(directory.setApprovers('r\n', { users: ['x'] }))).toEqual([
      'resourceId: control characters and lone surrogates are not allowed',
    ]);
    expect(await issuesOf(directory.removeUser(''))).toEqual(['id: expected an id of 1-512 characters']);
    const atLimit = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`a${i}`, ['v'.repeat(1_024)]]));
    expect((await directory.putUser({ id: 'x'.repeat(512), attributes: atLimit })).created).toBe(true);
  });

  it('passes the store’s conflicts and unknown members on as idrelay errors', async () => {
    const directory = createStoreDirectory(createMemoryStore());
    await directory.putUser({ id: 'alice', subjects: [{ format: 'email', email: 'alice@example.com' }] });
    await expect(
      directory.putUser({ id: 'mallory', subjects: [{ format: 'email', email: 'ALICE@example.com' }] }),
    ).rejects.toSatisfy((e) => isIdrelayError(e, 'ERR_DIRECTORY_CONFLICT'));
    await directory.putGroup({ id: 'g' });
    await expect(directory.addMembers('g', { users: ['alice', 'ghost'] })).rejects.toSatisfy((e) =>
      isIdrelayError(e, 'ERR_DIRECTORY_NOT_FOUND'),
    );
    expect(await ids(directory.resolve({ kind: 'group', groupId: 'g' }))).toEqual([]);
  });

  it('refuses a page size the store cannot serve', () => {
    for (const pageSize of [0, 10_001, 1.5]) {
      expect(() => createStoreDirectory(createMemoryStore(), { pageSize })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('createStoreDirectory: audiences', () => {
  it('streams a 20,000-user attribute audience, never asking the store for more than one page ahead', async () => {
    const base = createMemoryStore();
    for (let i = 0; i < 21_000; i++) {
      const user: StoredUser = {
        id: `u-${String(i).padStart(5, '0')}`,
        attributes: { site: i < 20_000 ? 'hq' : 'branch' },
        updatedAt: T,
      };
      await base.directory.putUser(user);
    }
    const { store, calls } = counted(base);
    const directory = createStoreDirectory(store, { pageSize: 500 });
    let consumed = 0;
    let mostAhead = 0;
    for await (const _user of directory.resolve({ kind: 'attributes', filter: { site: 'hq' } })) {
      const asked = (calls.usersByAttributes ?? 0) * 500;
      mostAhead = Math.max(mostAhead, asked - consumed);
      consumed++;
    }
    expect(consumed).toBe(20_000);
    expect(mostAhead).toBeLessThanOrEqual(500);
    expect(calls.usersByAttributes).toBeLessThanOrEqual(41);
    expect(Object.keys(calls)).toEqual(['usersByAttributes']);
  });

  it('walks nested groups with cycles once each, both down (members) and up (groupsOf)', async () => {
    const base = createMemoryStore();
    const directory = createStoreDirectory(base);
    for (const id of ['ann', 'ben', 'cat', 'dan', 'eve']) await directory.putUser({ id });
    for (const id of ['a', 'b', 'c', 'self', 'other']) await directory.putGroup({ id });
    await directory.addMembers('a', { users: ['ann'], groups: ['b'] });
    await directory.addMembers('b', { users: ['ben', 'ann'], groups: ['c'] });
    await directory.addMembers('c', { users: ['cat'], groups: ['a', 'self'] });
    await directory.addMembers('self', { users: ['dan'], groups: ['self'] });
    await directory.addMembers('other', { users: ['eve'] });

    const { store, calls } = counted(base);
    const counting = createStoreDirectory(store);
    expect(await ids(counting.resolve({ kind: 'group', groupId: 'b' }))).toEqual(['ann', 'ben', 'cat', 'dan']);
    expect(calls.childGroups).toBe(3); // one per level: {b}, {c}, {a, self}; the last finds nothing new
    expect(await ids(counting.resolve({ kind: 'group', groupId: 'self' }))).toEqual(['dan']);
    expect(await ids(counting.resolve({ kind: 'group', groupId: 'b', nested: false }))).toEqual(['ann', 'ben']);
    expect((await ids(counting.groupsOf('dan', { nested: true }))).sort()).toEqual(['a', 'b', 'c', 'self']);
    expect(await ids(counting.groupsOf('dan'))).toEqual(['self']);
  });

  it('leaves inactive users out of every audience while getUser and findBySubject still find them', async () => {
    const directory = createStoreDirectory(createMemoryStore());
    const subject = { format: 'opaque' as const, id: 'z-1' };
    await directory.putUser({ id: 'zed', active: false, subjects: [subject], attributes: { team: 'x' } });
    await directory.putUser({ id: 'amy', managerId: 'zed', attributes: { team: 'x' } });
    await directory.putGroup({ id: 'g' });
    await directory.addMembers('g', { users: ['zed', 'amy'] });
    await directory.setApprovers('app', { users: ['zed'], groups: ['g'] });
    const audiences = [
      { kind: 'users' as const, userIds: ['zed', 'amy'] },
      { kind: 'subjects' as const, subjects: [subject] },
      { kind: 'group' as const, groupId: 'g' },
      { kind: 'attributes' as const, filter: { team: 'x' } },
      { kind: 'manager-of' as const, userId: 'amy' },
      { kind: 'approvers-of' as const, resourceId: 'app' },
    ];
    for (const audience of audiences) expect(await ids(directory.resolve(audience))).not.toContain('zed');
    expect((await directory.getUser('zed'))?.active).toBe(false);
    expect((await directory.findBySubject(subject))?.id).toBe('zed');
  });

  it('yields an approver who is also in an approver group once, and unions audiences without duplicates', async () => {
    const directory = createStoreDirectory(createMemoryStore(), { pageSize: 1 });
    for (const id of ['a', 'b', 'c']) await directory.putUser({ id, attributes: { k: 'v' } });
    await directory.putGroup({ id: 'g' });
    await directory.addMembers('g', { users: ['a', 'b'] });
    await directory.setApprovers('app', { users: ['b'], groups: ['g'] });
    expect(await ids(directory.resolve({ kind: 'approvers-of', resourceId: 'app' }))).toEqual(['b', 'a']);
    const union = {
      kind: 'any-of' as const,
      audiences: [
        { kind: 'approvers-of' as const, resourceId: 'app' },
        { kind: 'attributes' as const, filter: { k: ['v'] } },
      ],
    };
    expect(await ids(directory.resolve(union))).toEqual(['b', 'a', 'c']);
  });

  it('stops at an aborted signal without asking the store for another page', async () => {
    const base = createMemoryStore();
    for (let i = 0; i < 10; i++) await base.directory.putUser({ id: `u-${i}`, attributes: { k: 'v' }, updatedAt: T });
    const { store, calls } = counted(base);
    const directory = createStoreDirectory(store);
    const controller = new AbortController();
    const seen: string[] = [];
    const run = async () => {
      for await (const user of directory.resolve(
        { kind: 'attributes', filter: { k: 'v' } },
        { pageSize: 3, signal: controller.signal },
      )) {
        seen.push(user.id);
        if (seen.length === 2) controller.abort(new Error('enough'));
      }
    };
    await expect(run()).rejects.toThrow('enough');
    expect(seen).toEqual(['u-0', 'u-1']);
    expect(calls.usersByAttributes).toBe(1);
  });

  it('lists users and groups in id order, page by page', async () => {
    const directory = createStoreDirectory(createMemoryStore(), { pageSize: 2 });
    for (const id of ['c', 'a', 'e', 'b', 'd']) {
      await directory.putUser({ id, active: id !== 'e' });
      await directory.putGroup({ id: `g-${id}` });
    }
    expect(await ids(directory.listUsers())).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await ids(directory.listGroups({ pageSize: 3 }))).toEqual(['g-a', 'g-b', 'g-c', 'g-d', 'g-e']);
  });
});
