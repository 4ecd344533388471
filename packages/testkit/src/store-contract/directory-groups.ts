import { type GroupEdge, isIdrelayError, type ResourceApprovers } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { AWKWARD_IDS, byCodePoint, contractUser, readPages } from './directory-fixtures.js';
import type { ContractContext } from './fixtures.js';
import { T0 } from './fixtures.js';

const idOf = (row: { id: string }): string => row.id;
const edgeOrder = (a: GroupEdge, b: GroupEdge) => byCodePoint(a.parent, b.parent) || byCodePoint(a.child, b.child);
const sortedEdges = (edges: GroupEdge[]) => [...edges].sort(edgeOrder);
const sortedApprovers = (a: ResourceApprovers): ResourceApprovers => ({
  users: [...a.users].sort(byCodePoint),
  groups: [...a.groups].sort(byCodePoint),
});

/** Groups, memberships, nesting edges, approvers and what removal takes with it. */
export function describeDirectoryGroups(ctx: ContractContext): void {
  const dir = () => ctx.store.directory;
  const users = async (...ids: string[]) => {
    for (const id of ids) await dir().putUser(contractUser(id));
  };
  const groups = async (...ids: string[]) => {
    for (const id of ids) await dir().putGroup({ id, updatedAt: T0 });
  };
  const memberIds = (groupId: string, limit = 2) => readPages((page) => dir().memberIds(groupId, page), String, limit);

  describe('directory: groups and memberships', () => {
    it('inserts and replaces a group, returning the record before; its memberships stay', async () => {
      const admins = { id: 'admins', name: 'IAM admins', privileged: true, updatedAt: T0 };
      expect(await dir().putGroup(admins)).toEqual({ created: true });
      await users('bob');
      await dir().addMembers('admins', { users: ['bob'] });
      const renamed = { id: 'admins', name: 'Admins', updatedAt: T0 + 1 };
      expect(await dir().putGroup(renamed)).toEqual({ created: false, previous: admins });
      expect(await dir().getGroup('admins')).toEqual(renamed);
      expect(await memberIds('admins')).toEqual(['bob']);
      expect(await dir().getGroup('ghost')).toBeUndefined();
      await groups('c', 'a', 'b');
      expect((await dir().getGroups(['c', 'ghost', 'a', 'a'])).map(idOf)).toEqual(['a', 'c']);
      expect(await readPages((page) => dir().listGroups(page), idOf, 2)).toEqual(['a', 'admins', 'b', 'c']);
    });

    it('adds members idempotently, counting only new memberships; lists members (active or not) in id order', async () => {
      await users('alice', 'bob', 'carol');
      await dir().putUser(contractUser('dave', { active: false }));
      await groups('g', 'child');
      expect(await dir().addMembers('g', { users: ['bob', 'alice'] })).toEqual({ added: 2 });
      expect(await dir().addMembers('g', { users: ['bob', 'carol', 'dave'], groups: ['child'] })).toEqual({ added: 3 });
      expect(await dir().addMembers('g', { users: ['alice'], groups: ['child'] })).toEqual({ added: 0 });
      expect(await dir().addMembers('g', {})).toEqual({ added: 0 });
      expect(await memberIds('g')).toEqual(['alice', 'bob', 'carol', 'dave']);
      expect(await dir().childGroups(['g'])).toEqual([{ parent: 'g', child: 'child' }]);
      expect((await dir().groupsOfUser('bob')).map(idOf)).toEqual(['g']);
    });

    it('refuses members when the group, a user or a nested group is unknown, and changes nothing', async () => {
      await users('alice', 'bob');
      await groups('g', 'other');
      await dir().addMembers('g', { users: ['alice'] });
      const notFound = (error: unknown) => isIdrelayError(error, 'ERR_DIRECTORY_NOT_FOUND');
      await expect(dir().addMembers('g', { users: ['bob', 'ghost'] })).rejects.toSatisfy(notFound);
      await expect(dir().addMembers('g', { users: ['bob'], groups: ['other', 'ghost'] })).rejects.toSatisfy(notFound);
      await expect(dir().addMembers('ghost', { users: ['bob'] })).rejects.toSatisfy(notFound);
      expect(await memberIds('g')).toEqual(['alice']);
      expect(await dir().childGroups(['g'])).toEqual([]);
      expect(await dir().groupsOfUser('bob')).toEqual([]);
      expect(await dir().getGroup('ghost')).toBeUndefined();
    });

    it('removes direct members, ignoring absent ones', async () => {
      await users('alice', 'bob');
      await groups('g', 'child');
      await dir().addMembers('g', { users: ['alice', 'bob'], groups: ['child'] });
      expect(await dir().removeMembers('g', { users: ['alice', 'ghost'], groups: ['child', 'nope'] })).toEqual({
        removed: 2,
      });
      expect(await dir().removeMembers('g', { users: ['alice'] })).toEqual({ removed: 0 });
      expect(await dir().removeMembers('ghost', { users: ['bob'] })).toEqual({ removed: 0 });
      expect(await memberIds('g')).toEqual(['bob']);
      expect(await dir().childGroups(['g'])).toEqual([]);
      expect(await dir().groupsOfUser('alice')).toEqual([]);
    });

    it('finds active direct members of several groups, each once, paged', async () => {
      await users('a', 'b', 'c', 'e');
      await dir().putUser(contractUser('d', { active: false }));
      await groups('g1', 'g2', 'g3');
      await dir().addMembers('g1', { users: ['a', 'b', 'c'], groups: ['g3'] });
      await dir().addMembers('g2', { users: ['b', 'c', 'd'] });
      await dir().addMembers('g3', { users: ['e'] });
      const inGroups = (ids: string[], limit: number) =>
        readPages((page) => dir().usersInGroups(ids, page), idOf, limit);
      expect(await inGroups(['g1', 'g2'], 1)).toEqual(['a', 'b', 'c']);
      expect(await inGroups(['g2', 'g1', 'g2', 'ghost'], 2)).toEqual(['a', 'b', 'c']);
      expect(await inGroups(['g3'], 2)).toEqual(['e']);
      expect(await inGroups([], 2)).toEqual([]);
    });

    it('keeps nesting edges as given, cycles included, and reads them one level down or up', async () => {
      await groups('g1', 'g2', 'g3', 'g4');
      await dir().addMembers('g1', { groups: ['g2', 'g4'] });
      await dir().addMembers('g2', { groups: ['g3'] });
      await dir().addMembers('g3', { groups: ['g1'] });
      expect(sortedEdges(await dir().childGroups(['g1']))).toEqual([
        { parent: 'g1', child: 'g2' },
        { parent: 'g1', child: 'g4' },
      ]);
      expect(sortedEdges(await dir().childGroups(['g2', 'g3']))).toEqual([
        { parent: 'g2', child: 'g3' },
        { parent: 'g3', child: 'g1' },
      ]);
      expect(await dir().parentGroups(['g1'])).toEqual([{ parent: 'g3', child: 'g1' }]);
      expect(sortedEdges(await dir().parentGroups(['g2', 'g4']))).toEqual([
        { parent: 'g1', child: 'g2' },
        { parent: 'g1', child: 'g4' },
      ]);
      expect(await dir().childGroups(['g4', 'ghost'])).toEqual([]);
      expect(await dir().childGroups([])).toEqual([]);
    });

    it('lists the groups a user is directly in, in id order', async () => {
      await users('bob');
      await groups('zeta', 'Alpha', 'beta', 'outer');
      for (const g of ['zeta', 'Alpha', 'beta']) await dir().addMembers(g, { users: ['bob'] });
      await dir().addMembers('outer', { groups: ['beta'] });
      expect((await dir().groupsOfUser('bob')).map(idOf)).toEqual(['Alpha', 'beta', 'zeta']);
      expect(await dir().groupsOfUser('ghost')).toEqual([]);
    });
  });

  describe('directory: approvers and removal', () => {
    it('replaces the approvers of a resource; empty lists remove the entry', async () => {
      expect(await dir().getApprovers('app-erp')).toEqual({ users: [], groups: [] });
      await dir().setApprovers('app-erp', { users: ['carol', 'alice'], groups: ['soc'] });
      expect(sortedApprovers(await dir().getApprovers('app-erp'))).toEqual({
        users: ['alice', 'carol'],
        groups: ['soc'],
      });
      await dir().setApprovers('app-erp', { users: [], groups: ['finance'] });
      expect(await dir().getApprovers('app-erp')).toEqual({ users: [], groups: ['finance'] });
      await dir().setApprovers('app-hr', { users: ['grace'], groups: [] });
      await dir().setApprovers('app-erp', { users: [], groups: [] });
      expect(await dir().getApprovers('app-erp')).toEqual({ users: [], groups: [] });
      expect(await dir().getApprovers('app-hr')).toEqual({ users: ['grace'], groups: [] });
    });

    it('removing a user removes their memberships and approver entries, for good', async () => {
      await users('alice', 'bob');
      await groups('g');
      await dir().addMembers('g', { users: ['alice', 'bob'] });
      await dir().setApprovers('app', { users: ['alice', 'bob'], groups: ['g'] });
      expect(await dir().removeUser('alice')).toBe(true);
      expect(await memberIds('g')).toEqual(['bob']);
      expect(await dir().groupsOfUser('alice')).toEqual([]);
      expect(await dir().getApprovers('app')).toEqual({ users: ['bob'], groups: ['g'] });
      await users('alice');
      expect(await memberIds('g')).toEqual(['bob']);
      expect((await dir().usersInGroups(['g'], { limit: 10 })).map(idOf)).toEqual(['bob']);
    });

    it('removing a group removes its memberships both ways and its approver entries, for good', async () => {
      await users('alice', 'bob');
      await groups('outer', 'g', 'inner');
      await dir().addMembers('outer', { groups: ['g'] });
      await dir().addMembers('g', { users: ['alice', 'bob'], groups: ['inner'] });
      await dir().setApprovers('app', { users: ['bob'], groups: ['g', 'outer'] });
      expect(await dir().removeGroup('g')).toBe(true);
      expect(await dir().removeGroup('g')).toBe(false);
      expect(await dir().getGroup('g')).toBeUndefined();
      expect(await dir().childGroups(['outer'])).toEqual([]);
      expect(await dir().parentGroups(['inner'])).toEqual([]);
      expect(await dir().groupsOfUser('alice')).toEqual([]);
      expect(await dir().getApprovers('app')).toEqual({ users: ['bob'], groups: ['outer'] });
      await groups('g');
      expect(await memberIds('g')).toEqual([]);
      expect(await dir().childGroups(['g'])).toEqual([]);
      expect(await dir().usersInGroups(['g'], { limit: 10 })).toEqual([]);
      expect(await dir().getApprovers('app')).toEqual({ users: ['bob'], groups: ['outer'] });
    });

    it('keeps ids with quotes, %, _, spaces, backslashes, accents and emoji apart and intact everywhere', async () => {
      const ids = [...AWKWARD_IDS].sort(byCodePoint);
      for (const id of ids) {
        await dir().putUser(
          contractUser(id, { managerId: ids[0]!, subjects: [{ format: 'opaque', id }], attributes: { tag: id } }),
        );
        await dir().putGroup({ id, updatedAt: T0 });
      }
      for (const id of ids) {
        expect((await dir().getUser(id))?.id).toBe(id);
        expect((await dir().findBySubject([`opaque:${id}`]))?.id).toBe(id);
        expect((await dir().usersByAttributes({ tag: [id] }, { limit: 10 })).map(idOf)).toEqual([id]);
      }
      await dir().addMembers(ids[1]!, { users: ids, groups: ids });
      expect(await memberIds(ids[1]!, 5)).toEqual(ids);
      expect(sortedEdges(await dir().childGroups([ids[1]!])).map((edge) => edge.child)).toEqual(ids);
      expect((await dir().groupsOfUser("o'neil")).map(idOf)).toEqual([ids[1]]);
      expect(await readPages((page) => dir().reportsOf(ids[0]!, page), idOf, 3)).toEqual(ids);
      await dir().setApprovers('100%', { users: ["o'neil", '😀'], groups: ['a_b'] });
      expect(sortedApprovers(await dir().getApprovers('100%'))).toEqual({ users: ["o'neil", '😀'], groups: ['a_b'] });
      expect(await dir().getApprovers('100')).toEqual({ users: [], groups: [] });
      expect(await dir().getApprovers('1000%')).toEqual({ users: [], groups: [] });
      expect(await dir().removeUser('a_b')).toBe(true);
      expect(await dir().getUser('a b')).toBeDefined();
      expect(await dir().usersByAttributes({ tag: ['a%'] }, { limit: 10 })).toEqual([]);
    });
  });
}
