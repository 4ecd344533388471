import type { DirectoryStore } from '@idrelay/core';
import type { PgContext } from '../context.js';
import { createAudiencePorts } from './audience.js';
import { createGroupPorts } from './groups.js';
import { createUserPorts } from './users.js';

/**
 * {@link DirectoryStore} on PostgreSQL (tables from migration 4, `0004-directory.ts`): users with their subject keys
 * and attribute rows, groups, memberships, nesting edges and resource approvers. Lists page by keyset on id in
 * code-point order (`COLLATE "C"`); attribute audiences are index walks, never scans; each write is one
 * transaction.
 */
export function createDirectoryStore(context: PgContext): DirectoryStore {
  return { ...createUserPorts(context), ...createAudiencePorts(context), ...createGroupPorts(context) };
}
