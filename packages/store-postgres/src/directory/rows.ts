import { IdrelayError, type StoredGroup, type StoredUser, type SubjectIdentifier } from '@idrelay/core';
import type { Row } from '../context.js';
import { num, str } from '../context.js';

/** The columns a user is read back from: one row, attributes and subjects as jsonb (parsed by the driver). */
export const USER_COLUMNS = 'id, display_name, locale, time_zone, manager_id, active, attributes, subjects, updated_at';

/** The columns of a group. */
export const GROUP_COLUMNS = 'id, name, privileged, updated_at';

/** A user from a row of {@link USER_COLUMNS}; optional fields that were never written stay absent, `active` is always set. */
export function toUser(row: Row): StoredUser {
  const user: StoredUser = {
    id: row.id as string,
    attributes: row.attributes as StoredUser['attributes'],
    active: row.active as boolean,
    updatedAt: num(row.updated_at)!,
  };
  const displayName = str(row.display_name);
  const locale = str(row.locale);
  const timeZone = str(row.time_zone);
  const managerId = str(row.manager_id);
  if (displayName !== undefined) user.displayName = displayName;
  if (row.subjects !== null && row.subjects !== undefined) user.subjects = row.subjects as SubjectIdentifier[];
  if (locale !== undefined) user.locale = locale;
  if (timeZone !== undefined) user.timeZone = timeZone;
  if (managerId !== undefined) user.managerId = managerId;
  return user;
}

/** A group from a row of {@link GROUP_COLUMNS}. */
export function toGroup(row: Row): StoredGroup {
  const group: StoredGroup = { id: row.id as string, updatedAt: num(row.updated_at)! };
  const name = str(row.name);
  if (name !== undefined) group.name = name;
  if (row.privileged !== null && row.privileged !== undefined) group.privileged = row.privileged as boolean;
  return group;
}

/** `id > $after`: the empty string sorts before every id, so a first page needs no second statement text. */
export const afterOf = (after: string | undefined): string => after ?? '';

const FOREIGN_KEY_VIOLATION = '23503';

/** True for `ERR_STORE_QUERY` caused by a foreign key: a row named a user or group that another call removed. */
export function isMissingReference(error: unknown): boolean {
  return (
    error instanceof IdrelayError &&
    error.code === 'ERR_STORE_QUERY' &&
    (error.details as { sqlstate?: string } | undefined)?.sqlstate === FOREIGN_KEY_VIOLATION
  );
}

/** `ERR_DIRECTORY_NOT_FOUND` naming what was missing. */
export function notFound(message: string, details: Record<string, unknown>, cause?: unknown): IdrelayError {
  return new IdrelayError('ERR_DIRECTORY_NOT_FOUND', message, { details, ...(cause === undefined ? {} : { cause }) });
}
