import type { Migration } from './migrate.js';

/**
 * The directory in the store (`DirectoryStore`): users, their subject keys and attributes, groups, memberships,
 * nesting edges and resource approvers.
 *
 * - Ids, keys and attribute values are `COLLATE "C"`: byte order of UTF-8 is code-point order, which the port
 *   pages by, whatever the database's default collation is; equality on them is a plain byte compare.
 * - A user row keeps `attributes` and `subjects` as jsonb, so a user is read back from one row; the
 *   `directory_attributes` rows (one per name, value and active user: only they are in audiences) and `directory_subjects` (one per canonical key)
 *   exist for lookups only. `directory_attributes`' primary key (name, value, user_id) serves
 *   `name = $1 AND value = $2 AND user_id > $3 ORDER BY user_id`, an audience page in user-id order.
 * - Subjects, attributes, memberships and nesting edges reference their user or group and cascade on removal.
 *   Approvers are not references (the port stores what it is given, for users and groups yet to be written);
 *   removing a user or group deletes its approver rows in the same transaction. Managers are not references
 *   either: a dangling `manager_id` resolves to nobody.
 */
export const directory: Migration = {
  version: 4,
  name: 'directory',
  sql: (s) => `
    CREATE TABLE ${s}.directory_users (
      id text COLLATE "C" PRIMARY KEY,
      display_name text,
      locale text,
      time_zone text,
      manager_id text COLLATE "C",
      active boolean NOT NULL,
      attributes jsonb NOT NULL,
      subjects jsonb,
      updated_at bigint NOT NULL
    );
    CREATE INDEX directory_users_manager ON ${s}.directory_users (manager_id, id) WHERE active;

    CREATE TABLE ${s}.directory_subjects (
      key text COLLATE "C" PRIMARY KEY,
      user_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_users (id) ON DELETE CASCADE
    );
    CREATE INDEX directory_subjects_user ON ${s}.directory_subjects (user_id);

    CREATE TABLE ${s}.directory_attributes (
      name text COLLATE "C" NOT NULL,
      value text COLLATE "C" NOT NULL,
      user_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_users (id) ON DELETE CASCADE,
      PRIMARY KEY (name, value, user_id)
    );
    CREATE INDEX directory_attributes_user ON ${s}.directory_attributes (user_id);

    CREATE TABLE ${s}.directory_groups (
      id text COLLATE "C" PRIMARY KEY,
      name text,
      privileged boolean,
      updated_at bigint NOT NULL
    );

    CREATE TABLE ${s}.directory_members (
      group_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_groups (id) ON DELETE CASCADE,
      user_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_users (id) ON DELETE CASCADE,
      PRIMARY KEY (group_id, user_id)
    );
    CREATE INDEX directory_members_user ON ${s}.directory_members (user_id, group_id);

    CREATE TABLE ${s}.directory_nesting (
      parent_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_groups (id) ON DELETE CASCADE,
      child_id text COLLATE "C" NOT NULL REFERENCES ${s}.directory_groups (id) ON DELETE CASCADE,
      PRIMARY KEY (parent_id, child_id)
    );
    CREATE INDEX directory_nesting_child ON ${s}.directory_nesting (child_id, parent_id);

    CREATE TABLE ${s}.directory_user_approvers (
      resource_id text COLLATE "C" NOT NULL,
      user_id text COLLATE "C" NOT NULL,
      PRIMARY KEY (resource_id, user_id)
    );
    CREATE INDEX directory_user_approvers_user ON ${s}.directory_user_approvers (user_id);

    CREATE TABLE ${s}.directory_group_approvers (
      resource_id text COLLATE "C" NOT NULL,
      group_id text COLLATE "C" NOT NULL,
      PRIMARY KEY (resource_id, group_id)
    );
    CREATE INDEX directory_group_approvers_group ON ${s}.directory_group_approvers (group_id);
  `,
};
