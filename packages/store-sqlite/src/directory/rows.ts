import type { DirectoryPage, StoredGroup, StoredUser } from '@idrelay/core';
import type { Row, SqlValue } from '../driver.js';
import { int, text } from '../driver.js';

/** The columns a user is read back from, on the `users` table aliased `u`. */
export const USER_COLUMNS =
  'u.id, u.display_name, u.locale, u.time_zone, u.manager_id, u.active, u.updated_at, u.attributes, u.subjects';

/** The columns a group is read back from, on `directory_groups` aliased `g`. */
export const GROUP_COLUMNS = 'g.id, g.name, g.privileged, g.updated_at';

/** A user counts as active unless written with `active: false` (NULL means the writer left it out). */
export const ACTIVE = 'active IS NOT 0';

/** A {@link StoredUser} from its row; optional fields the writer left out stay absent. */
export function toUser(row: Row): StoredUser {
  const user: StoredUser = {
    id: text(row.id)!,
    attributes: JSON.parse(text(row.attributes)!) as StoredUser['attributes'],
    updatedAt: int(row.updated_at)!,
  };
  const displayName = text(row.display_name);
  const locale = text(row.locale);
  const timeZone = text(row.time_zone);
  const managerId = text(row.manager_id);
  const active = int(row.active);
  const subjects = text(row.subjects);
  if (displayName !== undefined) user.displayName = displayName;
  if (locale !== undefined) user.locale = locale;
  if (timeZone !== undefined) user.timeZone = timeZone;
  if (managerId !== undefined) user.managerId = managerId;
  if (active !== undefined) user.active = active !== 0;
  if (subjects !== undefined) user.subjects = JSON.parse(subjects) as NonNullable<StoredUser['subjects']>;
  return user;
}

/** The `users` columns of a user, in the order of `USER_COLUMNS`. */
export function userValues(user: StoredUser): SqlValue[] {
  return [
    user.id,
    user.displayName ?? null,
    user.locale ?? null,
    user.timeZone ?? null,
    user.managerId ?? null,
    user.active === undefined ? null : user.active ? 1 : 0,
    user.updatedAt,
    JSON.stringify(user.attributes),
    user.subjects === undefined ? null : JSON.stringify(user.subjects),
  ];
}

/** A {@link StoredGroup} from its row. */
export function toGroup(row: Row): StoredGroup {
  const group: StoredGroup = { id: text(row.id)!, updatedAt: int(row.updated_at)! };
  const name = text(row.name);
  const privileged = int(row.privileged);
  if (name !== undefined) group.name = name;
  if (privileged !== undefined) group.privileged = privileged !== 0;
  return group;
}

/** The port's bound on page sizes and id lists. */
export const MAX_PAGE = 10_000;

/** Throws a `TypeError` for a page the port does not allow (limit 1 … 10,000). */
export function checkPage(page: DirectoryPage): void {
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) {
    throw new TypeError(`page.limit: expected an integer from 1 to ${MAX_PAGE}, got ${String(page.limit)}`);
  }
}

/** Throws a `TypeError` for a list of ids longer than the port allows. */
export function checkIds(what: string, ids: readonly string[]): void {
  if (ids.length > MAX_PAGE) throw new TypeError(`${what}: expected at most ${MAX_PAGE} ids, got ${ids.length}`);
}
