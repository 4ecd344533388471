import { isIdrelayError, type StoredUser } from '@idrelay/core';
import { subjectKey, subjectKeys } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { AWKWARD_IDS, byCodePoint, comparable, contractUser, readPages } from './directory-fixtures.js';
import { describeDirectoryGroups } from './directory-groups.js';
import type { ContractContext } from './fixtures.js';
import { T0 } from './fixtures.js';

const idOf = (row: { id: string }): string => row.id;

/**
 * The directory port: users (replace with the record before, subject conflicts, lookups), keyset paging in
 * code-point order, attribute filters, reports, group audiences, memberships, nesting edges, approvers,
 * cascades on removal, awkward ids and the port's limits.
 */
export function describeDirectory(ctx: ContractContext): void {
  describe('directory: users', () => {
    it('inserts a user, then replaces attributes and subjects as a whole, returning the record before', async () => {
      const first = contractUser('alice', {
        displayName: 'Alice',
        subjects: [{ format: 'email', email: 'alice@example.com' }],
        locale: 'de-CH',
        timeZone: 'Europe/Zurich',
        managerId: 'carol',
        attributes: { department: 'finance', role: ['approver', 'dev'], badge: ['b-1'] },
      });
      expect(await ctx.store.directory.putUser(first)).toEqual({ created: true });
      expect(comparable(await ctx.store.directory.getUser('alice'))).toEqual(first);

      const second = contractUser('alice', {
        subjects: [{ format: 'opaque', id: 'a-1' }],
        attributes: { department: 'it' },
        updatedAt: T0 + 5,
      });
      const replaced = await ctx.store.directory.putUser(second);
      expect({ ...replaced, previous: comparable(replaced.previous) }).toEqual({ created: false, previous: first });
      expect(comparable(await ctx.store.directory.getUser('alice'))).toEqual(second);

      const page = { limit: 10 };
      expect(await ctx.store.directory.usersByAttributes({ department: ['finance'] }, page)).toEqual([]);
      expect(await ctx.store.directory.usersByAttributes({ role: ['dev'] }, page)).toEqual([]);
      expect((await ctx.store.directory.usersByAttributes({ department: ['it'] }, page)).map(idOf)).toEqual(['alice']);
      expect(await ctx.store.directory.findBySubject(['email:alice@example.com'])).toBeUndefined();
      expect((await ctx.store.directory.findBySubject(['opaque:a-1']))?.id).toBe('alice');
      expect(await ctx.store.directory.reportsOf('carol', page)).toEqual([]);
    });

    it('keeps what did not change across updates, deactivation and reactivation', async () => {
      const page = { limit: 10 };
      const ids = async (filter: Record<string, string[]>) =>
        (await ctx.store.directory.usersByAttributes(filter, page)).map(idOf);
      const base = {
        subjects: [
          { format: 'email' as const, email: 'dana@example.com' },
          { format: 'opaque' as const, id: 'd-1' },
        ],
        attributes: { department: 'sales', title: 'rep', role: ['a', 'b'] },
      };
      await ctx.store.directory.putUser(contractUser('dana', base));
      // One value changes, one subject goes, one comes.
      await ctx.store.directory.putUser(
        contractUser('dana', {
          subjects: [
            { format: 'opaque', id: 'd-1' },
            { format: 'opaque', id: 'd-2' },
          ],
          attributes: { department: 'sales', title: 'lead', role: ['b', 'c'] },
        }),
      );
      expect(await ids({ title: ['rep'] })).toEqual([]);
      expect(await ids({ title: ['lead'] })).toEqual(['dana']);
      expect(await ids({ role: ['a'] })).toEqual([]);
      expect(await ids({ role: ['b'] })).toEqual(['dana']);
      expect(await ids({ role: ['c'] })).toEqual(['dana']);
      expect(await ctx.store.directory.findBySubject(['email:dana@example.com'])).toBeUndefined();
      expect((await ctx.store.directory.findBySubject(['opaque:d-2']))?.id).toBe('dana');
      // Inactive users are in no audience; back active, every attribute counts again.
      await ctx.store.directory.putUser(contractUser('dana', { ...base, active: false }));
      expect(await ids({ department: ['sales'] })).toEqual([]);
      await ctx.store.directory.putUser(contractUser('dana', base));
      expect(await ids({ department: ['sales'] })).toEqual(['dana']);
      expect(await ids({ role: ['a'] })).toEqual(['dana']);
      expect((await ctx.store.directory.findBySubject(['email:dana@example.com']))?.id).toBe('dana');
    });

    it('refuses a subject another user holds (compared by canonical key) and changes nothing', async () => {
      await ctx.store.directory.putUser(
        contractUser('alice', { subjects: [{ format: 'email', email: 'alice@example.com' }] }),
      );
      const carol = contractUser('carol', { subjects: [{ format: 'opaque', id: 'c-1' }], attributes: { team: 'x' } });
      await ctx.store.directory.putUser(carol);

      const taken = { format: 'email' as const, email: 'ALICE@Example.com' };
      const newcomer = contractUser('bob', { subjects: [{ format: 'opaque', id: 'b-1' }, taken] });
      await expect(ctx.store.directory.putUser(newcomer)).rejects.toSatisfy(
        (error) =>
          isIdrelayError(error, 'ERR_DIRECTORY_CONFLICT') && error.details?.subject === 'email:alice@example.com',
      );
      expect(await ctx.store.directory.getUser('bob')).toBeUndefined();
      expect(await ctx.store.directory.findBySubject(['opaque:b-1'])).toBeUndefined();

      const stealing = contractUser('carol', { subjects: [taken], attributes: { team: 'y' } });
      await expect(ctx.store.directory.putUser(stealing)).rejects.toSatisfy((error) =>
        isIdrelayError(error, 'ERR_DIRECTORY_CONFLICT'),
      );
      expect(comparable(await ctx.store.directory.getUser('carol'))).toEqual(carol);
      expect((await ctx.store.directory.findBySubject(['opaque:c-1']))?.id).toBe('carol');
      expect((await ctx.store.directory.findBySubject(['email:alice@example.com']))?.id).toBe('alice');

      // Keeping one's own subject on a replace is no conflict.
      const again = contractUser('alice', { subjects: [taken], displayName: 'Alice' });
      expect((await ctx.store.directory.putUser(again)).created).toBe(false);
    });

    it('finds a user by any of their canonical subject keys, aliases included, active or not', async () => {
      const issSub = { format: 'iss_sub' as const, iss: 'https://idp.example.com', sub: 'h-1' };
      const aliases = {
        format: 'aliases' as const,
        identifiers: [
          { format: 'opaque' as const, id: 'h-opaque' },
          { format: 'phone_number' as const, phone_number: '+41440000000' },
        ],
      };
      await ctx.store.directory.putUser(contractUser('heidi', { subjects: [aliases, issSub], active: false }));
      await ctx.store.directory.putUser(contractUser('ivan', { subjects: [{ format: 'opaque', id: 'i-1' }] }));
      const find = async (keys: string[]) => (await ctx.store.directory.findBySubject(keys))?.id;
      expect(await find(['email:nobody@example.com', subjectKey(issSub)])).toBe('heidi');
      expect(await find(subjectKeys({ format: 'phone_number', phone_number: '+41 44 000 00 00' }))).toBe('heidi');
      expect(await find(['opaque:h-opaque'])).toBe('heidi');
      expect(await find(['opaque:i-1'])).toBe('ivan');
      expect(await find(['opaque:I-1'])).toBeUndefined();
      expect(await find([])).toBeUndefined();
    });

    it('gets users by id in id order, leaving missing ids out, inactive ones included', async () => {
      for (const id of ['c', 'a', 'b']) await ctx.store.directory.putUser(contractUser(id, { active: id !== 'b' }));
      const found = await ctx.store.directory.getUsers(['c', 'ghost', 'a', 'b', 'a']);
      expect(found.map(idOf)).toEqual(['a', 'b', 'c']);
      expect(found[1]?.active).toBe(false);
      expect(await ctx.store.directory.getUsers([])).toEqual([]);
      expect(await ctx.store.directory.getUser('ghost')).toBeUndefined();
    });

    it('removes a user: true once, then false; other users keep their managerId', async () => {
      await ctx.store.directory.putUser(contractUser('carol', { subjects: [{ format: 'opaque', id: 'c-1' }] }));
      await ctx.store.directory.putUser(contractUser('alice', { managerId: 'carol' }));
      expect(await ctx.store.directory.removeUser('carol')).toBe(true);
      expect(await ctx.store.directory.removeUser('carol')).toBe(false);
      expect(await ctx.store.directory.getUser('carol')).toBeUndefined();
      expect(await ctx.store.directory.findBySubject(['opaque:c-1'])).toBeUndefined();
      expect((await ctx.store.directory.getUser('alice'))?.managerId).toBe('carol');
      // The subject is free again.
      expect(
        await ctx.store.directory.putUser(contractUser('dave', { subjects: [{ format: 'opaque', id: 'c-1' }] })),
      ).toEqual({ created: true });
    });
  });

  describe('directory: paging and filters', () => {
    it('lists users, active or not, in code-point order of ids, page after page without repeats or gaps', async () => {
      const ids = [...AWKWARD_IDS, 'B', 'a', 'b', 'Z', 'é', 'e', '10', '9', '€'];
      for (const [i, id] of ids.entries()) await ctx.store.directory.putUser(contractUser(id, { active: i % 3 !== 0 }));
      const expected = [...ids].sort(byCodePoint);
      for (const limit of [1, 4, 10_000]) {
        expect(await readPages((page) => ctx.store.directory.listUsers(page), idOf, limit)).toEqual(expected);
      }
    });

    it('pages by keyset: rows there from the start come once each while others are written between pages', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `u-${String(i).padStart(2, '0')}`);
      for (const id of ids) await ctx.store.directory.putUser(contractUser(id, { attributes: { site: 'hq' } }));
      const churn = async (n: number) => {
        await ctx.store.directory.putUser(contractUser(`u-00-${n}`, { attributes: { site: 'hq' } }));
        await ctx.store.directory.putUser(contractUser(`u-99-${n}`, { attributes: { site: 'hq' } }));
        if (n === 1) await ctx.store.directory.removeUser('u-10');
      };
      const read = await readPages(
        (page) => ctx.store.directory.usersByAttributes({ site: ['hq'] }, page),
        idOf,
        3,
        churn,
      );
      expect(read.filter((id) => ids.includes(id))).toEqual(ids.filter((id) => id !== 'u-10'));
      expect(read.some((id) => id.startsWith('u-00-'))).toBe(false);
    });

    it('filters active users: every key must match, any of its values, exactly and case-sensitively', async () => {
      const people: StoredUser[] = [
        contractUser('alice', { attributes: { department: 'finance', location: 'zurich' } }),
        contractUser('bob', { attributes: { department: 'it', location: 'zurich', role: ['admin', 'dev', 'ops'] } }),
        contractUser('carol', { attributes: { department: 'finance', location: 'berlin' } }),
        contractUser('dave', { attributes: { department: 'it', location: 'zurich' }, active: false }),
        contractUser('erin', { attributes: { department: 'Finance', location: 'zurich' } }),
        contractUser('frank', { attributes: { department: ['it', 'finance'], location: 'zurich', role: 'dev' } }),
        contractUser('grace', { attributes: { department: 'R&D / 50%', location: "o'brien" } }),
      ];
      for (const user of people) await ctx.store.directory.putUser(user);
      const query = async (filter: Record<string, string[]>, limit = 10) =>
        readPages((page) => ctx.store.directory.usersByAttributes(filter, page), idOf, limit);

      expect(await query({ department: ['finance', 'it'], location: ['zurich'] })).toEqual(['alice', 'bob', 'frank']);
      expect(await query({ department: ['finance', 'it'], location: ['zurich'] }, 1)).toEqual([
        'alice',
        'bob',
        'frank',
      ]);
      expect(await query({ role: ['admin', 'dev', 'ops'] }, 1)).toEqual(['bob', 'frank']);
      expect(await query({ department: ['Finance'] })).toEqual(['erin']);
      expect(await query({ department: ['fin'] })).toEqual([]);
      expect(await query({ department: ['R&D / 50%'], location: ["o'brien"] })).toEqual(['grace']);
      expect(await query({ department: ['it'], shoeSize: ['42'] })).toEqual([]);
      expect(await query({ location: ['zurich', 'berlin'], department: ['it', 'finance', 'ghost'] }, 2)).toEqual([
        'alice',
        'bob',
        'carol',
        'frank',
      ]);
    });

    it('lists the active direct reports of a manager, paged', async () => {
      for (const id of ['alice', 'bob', 'dave', 'eve']) {
        await ctx.store.directory.putUser(contractUser(id, { managerId: 'carol', active: id !== 'dave' }));
      }
      await ctx.store.directory.putUser(contractUser('frank', { managerId: 'alice' }));
      const reports = (managerId: string) =>
        readPages((page) => ctx.store.directory.reportsOf(managerId, page), idOf, 2);
      expect(await reports('carol')).toEqual(['alice', 'bob', 'eve']);
      expect(await reports('alice')).toEqual(['frank']);
      expect(await reports('nobody')).toEqual([]);
    });

    it('takes ids of 512 characters, 10,000 ids in one lookup and pages of 10,000', async () => {
      const long = `${'é'.repeat(300)}${'x'.repeat(210)}😀`;
      expect(long).toHaveLength(512);
      const attributes: Record<string, string | string[]> = {};
      for (let i = 0; i < 199; i++) attributes[`a-${i}`] = `v-${i}`;
      const many = Array.from({ length: 100 }, (_, i) => `${i}`.padStart(1_024, '0'));
      attributes.many = many;
      await ctx.store.directory.putUser(contractUser(long, { attributes, managerId: long }));
      for (let i = 0; i < 20; i++) await ctx.store.directory.putUser(contractUser(`u-${i}`));
      await ctx.store.directory.putGroup({ id: long, updatedAt: T0 });
      await ctx.store.directory.addMembers(long, { users: [long, 'u-1'], groups: [long] });

      expect(comparable(await ctx.store.directory.getUser(long))).toEqual(
        contractUser(long, { attributes, managerId: long }),
      );
      const lookup = Array.from({ length: 9_999 }, (_, i) => `missing-${i}`).concat(long);
      expect((await ctx.store.directory.getUsers(lookup)).map(idOf)).toEqual([long]);
      expect((await ctx.store.directory.getGroups(lookup)).map(idOf)).toEqual([long]);
      expect((await ctx.store.directory.usersInGroups(lookup, { limit: 10_000 })).map(idOf).sort(byCodePoint)).toEqual(
        [long, 'u-1'].sort(byCodePoint),
      );
      expect(await ctx.store.directory.listUsers({ limit: 10_000 })).toHaveLength(21);
      expect((await ctx.store.directory.usersByAttributes({ many: [many[99]!] }, { limit: 10_000 })).map(idOf)).toEqual(
        [long],
      );
      expect((await ctx.store.directory.reportsOf(long, { limit: 10_000 })).map(idOf)).toEqual([long]);
      expect(await ctx.store.directory.childGroups([long])).toEqual([{ parent: long, child: long }]);
    });
  });

  describeDirectoryGroups(ctx);
}
