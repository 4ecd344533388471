import type { DirectoryStore } from '@idrelay/core';
import type { SqliteContext } from '../driver.js';
import { createGroupDirectory } from './groups.js';
import { createUserDirectory } from './users.js';

/**
 * {@link DirectoryStore} on the tables of migration 4: users with their subjects and attribute index rows, groups,
 * memberships, nesting edges and resource approvers. Audiences are keyset pages in user-id order read from indexes
 * (`user_attributes` by name and value, `group_members` by group, `users_manager`), each page with its whole user
 * rows in one statement. Removals cascade through foreign keys, which the store's connection enables.
 */
export function createDirectoryStore(context: SqliteContext): DirectoryStore {
  return { ...createUserDirectory(context), ...createGroupDirectory(context) };
}
