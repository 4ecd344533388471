import type { DirectoryGroup } from '@idrelay/core';
import type { MemoryDirectoryOptions, MemoryUser } from './memory-directory.js';

/**
 * The writes {@link seedStoreDirectory} needs: what `createStoreDirectory()` from `@idrelay/engine` offers (the
 * testkit does not depend on the engine, so it asks for the shape).
 */
export interface SeedableDirectory {
  putUser(user: MemoryUser): Promise<unknown>;
  putGroup(group: DirectoryGroup): Promise<unknown>;
  addMembers(groupId: string, members: { users?: readonly string[]; groups?: readonly string[] }): Promise<unknown>;
  setApprovers(resourceId: string, approvers: { users?: string[]; groups?: string[] }): Promise<unknown>;
}

/**
 * Writes a directory fixture (such as `DIRECTORY_FIXTURE`) into a writable directory: users, then groups, then
 * memberships and nesting (cycles included), then resource approvers. Returns the directory, so a
 * `directoryContract()` `create` can be one line.
 *
 * @example
 * ```ts
 * import { createStoreDirectory } from '@idrelay/engine';
 * import { createMemoryStore, seedStoreDirectory } from '@idrelay/testkit';
 * import { directoryContract } from '@idrelay/testkit/contracts';
 *
 * directoryContract({
 *   name: 'store (memory)',
 *   create: (fixture) => seedStoreDirectory(createStoreDirectory(createMemoryStore()), fixture),
 * });
 * ```
 */
export async function seedStoreDirectory<D extends SeedableDirectory>(
  directory: D,
  fixture: MemoryDirectoryOptions,
): Promise<D> {
  for (const user of fixture.users) await directory.putUser(user);
  const groups = fixture.groups ?? [];
  for (const { id, name, privileged } of groups) {
    const group: DirectoryGroup = { id };
    if (name !== undefined) group.name = name;
    if (privileged !== undefined) group.privileged = privileged;
    await directory.putGroup(group);
  }
  for (const group of groups) {
    await directory.addMembers(group.id, { users: group.members ?? [], groups: group.groups ?? [] });
  }
  for (const [resourceId, approvers] of Object.entries(fixture.resourceApprovers ?? {})) {
    await directory.setApprovers(resourceId, {
      users: [...(approvers.users ?? [])],
      groups: [...(approvers.groups ?? [])],
    });
  }
  return directory;
}
