import type { Directory, DirectoryUser, IdentityEvent } from '@idrelay/core';

/**
 * Finds the directory user an event concerns: by its RFC 9493 subject, else by `data.userId`.
 *
 * @example
 * ```ts
 * const user = await subjectUser(directory, event);
 * ```
 */
export async function subjectUser(directory: Directory, event: IdentityEvent): Promise<DirectoryUser | undefined> {
  if (event.idrelaysubject) {
    const found = await directory.findBySubject(event.idrelaysubject);
    if (found) return found;
  }
  const userId = (event.data as { userId?: unknown }).userId;
  return typeof userId === 'string' ? directory.getUser(userId) : undefined;
}
