import type { Directory, DirectoryUser } from '@idrelay/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemoryDirectoryOptions } from './memory-directory.js';

/**
 * The data every directory under contract is seeded with: eight users, nested groups with a cycle, a privileged
 * group, managers, resource approvers and subject identifiers. A directory implementation seeds its backend
 * (LDAP entries, SCIM resources) from it in `create`.
 */
export const DIRECTORY_FIXTURE: MemoryDirectoryOptions = {
  users: [
    {
      id: 'alice',
      displayName: 'Alice',
      managerId: 'carol',
      locale: 'de-CH',
      timeZone: 'Europe/Zurich',
      subjects: [{ format: 'email', email: 'alice@example.com' }],
      attributes: { department: 'finance', location: 'zurich' },
    },
    {
      id: 'bob',
      displayName: 'Bob',
      managerId: 'carol',
      subjects: [{ format: 'iss_sub', iss: 'https://idp.example.com', sub: 'b-1' }],
      attributes: { department: 'it', location: 'berlin', role: ['admin', 'dev'] },
    },
    { id: 'carol', displayName: 'Carol', attributes: { department: 'finance', location: 'berlin', role: 'manager' } },
    { id: 'dave', displayName: 'Dave', managerId: 'carol', attributes: { department: 'it', location: 'zurich' } },
    { id: 'erin', displayName: 'Erin', attributes: { department: 'security', location: 'zurich' } },
    { id: 'frank', displayName: 'Frank', attributes: { department: 'security', location: 'berlin' } },
    { id: 'grace', displayName: 'Grace', attributes: { department: 'hr' } },
    {
      id: 'heidi',
      displayName: 'Heidi',
      subjects: [{ format: 'phone_number', phone_number: '+41 44 000 00 00' }],
      attributes: { department: 'hr', location: 'zurich' },
    },
  ],
  groups: [
    { id: 'soc', name: 'Security operations', members: ['erin'], groups: ['soc-oncall'] },
    { id: 'soc-oncall', members: ['frank', 'erin'], groups: ['soc'] },
    { id: 'admins', name: 'IAM admins', privileged: true, members: ['bob'], groups: ['soc'] },
    { id: 'hr', members: ['grace', 'heidi'] },
  ],
  resourceApprovers: { 'app-erp': { users: ['carol'], groups: ['soc'] } },
};

/** Options of {@link directoryContract}. */
export interface DirectoryContractOptions {
  /** Suite name, e.g. `ldap`. */
  name: string;
  /** Creates a directory holding {@link DIRECTORY_FIXTURE}. */
  create(fixture: MemoryDirectoryOptions): Directory | Promise<Directory>;
}

async function ids(iterable: AsyncIterable<DirectoryUser | { id: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of iterable) out.push(item.id);
  return out;
}

const sorted = (values: string[]) => [...values].sort();

/**
 * The behaviour every `Directory` must show, as a vitest suite: lookups, subject matching, each audience kind,
 * nested groups (cycles included), unions without duplicates, and lazy streaming.
 *
 * @example
 * ```ts
 * directoryContract({ name: 'memory', create: (fixture) => createMemoryDirectory(fixture) });
 * ```
 */
export function directoryContract(options: DirectoryContractOptions): void {
  describe(`directory contract: ${options.name}`, () => {
    let directory: Directory;
    beforeAll(async () => {
      directory = await options.create(DIRECTORY_FIXTURE);
    });
    afterAll(async () => {
      await directory?.close?.();
    });

    it('gets users by id, with attributes, and nothing for unknown ids', async () => {
      const alice = await directory.getUser('alice');
      expect(alice).toMatchObject({ id: 'alice', managerId: 'carol', locale: 'de-CH', timeZone: 'Europe/Zurich' });
      expect(alice?.attributes.department).toBe('finance');
      expect(await directory.getUser('nobody')).toBeUndefined();
    });

    it('finds users by subject identifier, normalising case and aliases', async () => {
      expect((await directory.findBySubject({ format: 'email', email: 'ALICE@Example.com' }))?.id).toBe('alice');
      expect(
        (await directory.findBySubject({ format: 'iss_sub', iss: 'https://idp.example.com', sub: 'b-1' }))?.id,
      ).toBe('bob');
      const aliases = {
        format: 'aliases' as const,
        identifiers: [
          { format: 'opaque' as const, id: 'x' },
          { format: 'phone_number' as const, phone_number: '+41440000000' },
        ],
      };
      expect((await directory.findBySubject(aliases))?.id).toBe('heidi');
      expect(await directory.findBySubject({ format: 'email', email: 'nobody@example.com' })).toBeUndefined();
    });

    it('resolves named users and subjects, skipping unknown ones', async () => {
      expect(await ids(directory.resolve({ kind: 'users', userIds: ['bob', 'ghost', 'alice'] }))).toEqual([
        'bob',
        'alice',
      ]);
      expect(
        await ids(directory.resolve({ kind: 'subjects', subjects: [{ format: 'email', email: 'alice@example.com' }] })),
      ).toEqual(['alice']);
    });

    it('resolves nested groups once per user, survives cycles, and honours nested: false', async () => {
      expect(sorted(await ids(directory.resolve({ kind: 'group', groupId: 'admins' })))).toEqual([
        'bob',
        'erin',
        'frank',
      ]);
      expect(await ids(directory.resolve({ kind: 'group', groupId: 'admins', nested: false }))).toEqual(['bob']);
      expect(sorted(await ids(directory.resolve({ kind: 'group', groupId: 'soc' })))).toEqual(['erin', 'frank']);
      expect(await ids(directory.resolve({ kind: 'group', groupId: 'missing' }))).toEqual([]);
    });

    it('filters by attributes: every key must match, arrays match any member', async () => {
      const filter = { department: ['finance', 'it'], location: 'zurich' };
      expect(sorted(await ids(directory.resolve({ kind: 'attributes', filter })))).toEqual(['alice', 'dave']);
      expect(await ids(directory.resolve({ kind: 'attributes', filter: { role: 'admin' } }))).toEqual(['bob']);
    });

    it('resolves managers and the approvers of a resource', async () => {
      expect(await ids(directory.resolve({ kind: 'manager-of', userId: 'alice' }))).toEqual(['carol']);
      expect(await ids(directory.resolve({ kind: 'manager-of', userId: 'carol' }))).toEqual([]);
      expect(sorted(await ids(directory.resolve({ kind: 'approvers-of', resourceId: 'app-erp' })))).toEqual([
        'carol',
        'erin',
        'frank',
      ]);
      expect(await ids(directory.resolve({ kind: 'approvers-of', resourceId: 'unknown' }))).toEqual([]);
    });

    it('unions any-of audiences without duplicates', async () => {
      const audience = {
        kind: 'any-of' as const,
        audiences: [
          { kind: 'users' as const, userIds: ['alice', 'erin'] },
          { kind: 'manager-of' as const, userId: 'alice' },
          { kind: 'group' as const, groupId: 'soc' },
        ],
      };
      const found = await ids(directory.resolve(audience));
      expect(sorted(found)).toEqual(['alice', 'carol', 'erin', 'frank']);
      expect(new Set(found).size).toBe(found.length);
    });

    it('streams lazily: a consumer may stop after the first user', async () => {
      for await (const user of directory.resolve({ kind: 'attributes', filter: { location: ['zurich', 'berlin'] } })) {
        expect(user.id).toBeTypeOf('string');
        break;
      }
    });

    it('lists the groups of a user, directly or through nesting', async () => {
      expect(await ids(directory.groupsOf('bob'))).toEqual(['admins']);
      expect(sorted(await ids(directory.groupsOf('frank', { nested: true })))).toEqual(['admins', 'soc', 'soc-oncall']);
      const privileged = [];
      for await (const group of directory.groupsOf('bob')) if (group.privileged) privileged.push(group.id);
      expect(privileged).toEqual(['admins']);
    });
  });
}
