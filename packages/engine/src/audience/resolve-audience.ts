import type { AudienceSpec, Directory, DirectoryUser } from '@idrelay/core';

/** Options of {@link audiencePages}. */
export interface AudiencePageOptions {
  /** Users per page; each page costs one device query and one preference query. Default 500. */
  pageSize?: number;
  /** Keeps only users whose attributes match every entry (arrays match any member). */
  recipients?: Readonly<Record<string, string | readonly string[]>>;
  signal?: AbortSignal;
}

/**
 * True when a user's directory attributes match every entry of `filter`; an array on either side matches when
 * the two share a value.
 *
 * @example
 * ```ts
 * attributesMatch(user, { department: ['finance', 'it'] });
 * ```
 */
export function attributesMatch(
  user: DirectoryUser,
  filter: Readonly<Record<string, string | readonly string[]>>,
): boolean {
  for (const [name, wanted] of Object.entries(filter)) {
    const actual = user.attributes[name];
    if (actual === undefined) return false;
    const have = typeof actual === 'string' ? [actual] : actual;
    const want = typeof wanted === 'string' ? [wanted] : wanted;
    if (!want.some((value) => have.includes(value))) return false;
  }
  return true;
}

/**
 * Streams an audience from the directory in pages, so fan-out holds one page of users in memory however large
 * the audience. A user the directory yields twice is kept once, which costs one id per recipient (strings, not
 * user objects).
 *
 * @example
 * ```ts
 * for await (const page of audiencePages(directory, { kind: 'group', groupId: 'all-staff' }, { pageSize: 1000 })) {
 *   await fanOut(page);
 * }
 * ```
 */
export async function* audiencePages(
  directory: Directory,
  audience: AudienceSpec,
  options: AudiencePageOptions = {},
): AsyncGenerator<DirectoryUser[]> {
  const size = options.pageSize ?? 500;
  const seen = new Set<string>();
  let page: DirectoryUser[] = [];
  const stream = directory.resolve(
    audience,
    options.signal ? { pageSize: size, signal: options.signal } : { pageSize: size },
  );
  for await (const user of stream) {
    if (seen.has(user.id)) continue;
    seen.add(user.id);
    if (options.recipients && !attributesMatch(user, options.recipients)) continue;
    page.push(user);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
