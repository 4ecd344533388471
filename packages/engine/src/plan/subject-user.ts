import type { Directory, DirectoryUser, IdentityEvent } from '@idrelay/core';
import { eventSubject } from '@idrelay/core/events';

/**
 * Finds the directory user an event concerns: by its RFC 9493 subject, else by `data.userId`.
 *
 * @example
 * ```ts
 * const user = await subjectUser(directory, event);
 * ```
 */
export async function subjectUser(directory: Directory, event: IdentityEvent): Promise<DirectoryUser | undefined> {
  const subject = eventSubject(event);
  if (subject) {
    const found = await directory.findBySubject(subject);
    if (found) return found;
  }
  const userId = (event.data as { userId?: unknown }).userId;
  return typeof userId === 'string' ? directory.getUser(userId) : undefined;
}
