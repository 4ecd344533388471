import type { DirectoryPage, StoredUser } from '@idrelay/core';
import { expect } from 'vitest';
import { T0 } from './fixtures.js';

/** A stored user with no attributes, written at `T0`, plus `over`. */
export function contractUser(id: string, over: Partial<StoredUser> = {}): StoredUser {
  return { id, attributes: {}, updatedAt: T0, ...over };
}

/** A user as compared: `active: true` and an absent `active` mean the same (the port's default). */
export function comparable(user: StoredUser | undefined): StoredUser | undefined {
  if (user === undefined || user.active !== true) return user;
  const { active: _active, ...rest } = user;
  return rest;
}

/** Code-point order, written plainly (the order SQLite's BINARY and PostgreSQL's `C` collation give UTF-8 text). */
export function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Reads every page of a keyset-paged list with `limit`, checking each page holds at most `limit` rows and that no id
 * comes twice; returns the ids in the order read. `between` runs after each page (to write while paging).
 */
export async function readPages<T>(
  read: (page: DirectoryPage) => Promise<T[]>,
  id: (row: T) => string,
  limit: number,
  between?: (pageNumber: number) => Promise<void>,
): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  let after: string | undefined;
  for (let n = 0; n < 10_000; n++) {
    const rows = await read(after === undefined ? { limit } : { after, limit });
    expect(rows.length).toBeLessThanOrEqual(limit);
    const ids = rows.map(id);
    const repeated = ids.filter((x) => seen.has(x));
    expect(repeated, `ids read again on page ${n + 1}`).toEqual([]);
    for (const x of ids) seen.add(x);
    out.push(...ids);
    if (ids.length === 0) break;
    after = ids[ids.length - 1];
    await between?.(n);
  }
  return out;
}

/** Ids with the characters that trip SQL and URL code: quotes, `%`, `_`, spaces, backslashes, accents, emoji. */
export const AWKWARD_IDS: readonly string[] = [
  "o'neil",
  '100%',
  'a_b',
  'a b',
  'back\\slash',
  'Zoë',
  'zürich',
  '东京',
  'ｱ',
  '😀',
  '"quoted"',
  '--',
  '/*x*/',
  'CN=Alice,OU=People,DC=example,DC=com',
];
