import type { Migration } from './migrate.js';

/**
 * The directory of a deployment without LDAP or SCIM (the `DirectoryStore` port).
 *
 * - `users` keeps what a user reads back (attributes and subjects as JSON) beside the columns queries use.
 *   `active` is NULL when the writer left it out (read back as absent, counted as active), 1 or 0.
 * - `user_attributes` is the index behind audience filters: one row per (name, value, active user), so its primary
 *   key answers `name = ? AND value = ?` in user-id order, and `user_id > ?` continues a page without a sort.
 *   Inactive users have no rows (their attributes are read back from `users.attributes`).
 *   `user_attributes_user` (which carries the key columns too) checks a candidate's other filter keys by seeking.
 * - `user_subjects` maps each canonical subject key (`subjectKeys()` from core) to the one user holding it.
 * - Memberships and nesting edges are indexed from both ends; every child row names its parents with
 *   `ON DELETE CASCADE`, so removing a user or a group takes its rows along (the connection enables
 *   `foreign_keys`). `manager_id` has no foreign key: a dangling manager resolves to nobody.
 * - Approvers have no foreign key (the port trusts its input and keeps ids as given); removals delete them.
 */
export const directory: Migration = {
  version: 4,
  name: 'directory',
  sql: `
    CREATE TABLE users (
      id TEXT PRIMARY KEY,
      display_name TEXT,
      locale TEXT,
      time_zone TEXT,
      manager_id TEXT,
      active INTEGER,
      updated_at INTEGER NOT NULL,
      attributes TEXT NOT NULL,
      subjects TEXT
    ) WITHOUT ROWID;
    CREATE INDEX users_manager ON users (manager_id, id) WHERE manager_id IS NOT NULL;

    CREATE TABLE user_subjects (
      key TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE
    ) WITHOUT ROWID;
    CREATE INDEX user_subjects_user ON user_subjects (user_id);

    CREATE TABLE user_attributes (
      name TEXT NOT NULL,
      value TEXT NOT NULL,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      PRIMARY KEY (name, value, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX user_attributes_user ON user_attributes (user_id);

    CREATE TABLE directory_groups (
      id TEXT PRIMARY KEY,
      name TEXT,
      privileged INTEGER,
      updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE group_members (
      group_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
      user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      PRIMARY KEY (group_id, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX group_members_user ON group_members (user_id);

    CREATE TABLE group_nesting (
      parent_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
      child_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
      PRIMARY KEY (parent_id, child_id)
    ) WITHOUT ROWID;
    CREATE INDEX group_nesting_child ON group_nesting (child_id);

    CREATE TABLE resource_approvers (
      resource_id TEXT NOT NULL,
      -- 'user' or 'group'
      kind TEXT NOT NULL,
      member_id TEXT NOT NULL,
      PRIMARY KEY (resource_id, kind, member_id)
    ) WITHOUT ROWID;
    CREATE INDEX resource_approvers_member ON resource_approvers (member_id, kind);
  `,
};
