/**
 * The directory the `directory-store` benchmark resolves audiences from: `users` people whose attributes are a
 * deterministic function of their index, so an audience has an exact size on every store.
 */
import type { DirectoryUser, Store, StoredUser } from '@idrelay/core';
import { createStoreDirectory } from '@idrelay/engine';

/** Users per page, for the store and its floor alike. */
export const PAGE_SIZE = 500;

const DEPARTMENTS = [
  'engineering',
  'security',
  'finance',
  'legal',
  'sales',
  'marketing',
  'support',
  'operations',
  'people',
  'research',
];
const LOCATIONS = ['berlin', 'paris', 'london', 'new-york', 'austin', 'toronto', 'sao-paulo', 'singapore', 'tokyo'];
const ROLES = ['developer', 'analyst', 'manager', 'engineer', 'consultant', 'designer', 'administrator'];
const LOCALES = ['en-US', 'de-CH', 'fr-FR', 'en-GB', 'ja-JP'];
const ZONES = ['Europe/Zurich', 'Europe/Paris', 'Europe/London', 'America/New_York', 'Asia/Tokyo'];

/** `{ department: five of ten, location: 'zurich' }`: exactly `audience` users (see {@link directoryUser}). */
export const AUDIENCE_FILTER = { department: DEPARTMENTS.slice(0, 5), location: ['zurich'] };

/** Half of everyone: the same five departments, any employment type (two values, so two merged ranges). */
export const HALF_FILTER = { department: DEPARTMENTS.slice(0, 5), employmentType: ['employee', 'contractor'] };

/** A user id; ids are a permutation of indexes (48,271 is coprime with 10^n), so an audience spreads over them. */
export const userId = (i: number, users: number): string => `user-${String((i * 48_271) % users).padStart(6, '0')}`;

/**
 * User `i` of `users`. Department is `i mod 10`; of the users in the first five departments, every
 * `(users / 2) / audience`-th lives in Zurich (the audience); a tenth of the other departments live in Zurich too,
 * so the location index yields twice the audience and the department check has real work to do.
 */
export function directoryUser(i: number, users: number, audience: number): StoredUser {
  const department = i % 10;
  const eligible = department < 5;
  const rank = Math.floor(i / 10) * 5 + department;
  const stride = Math.max(1, Math.floor(users / 2 / audience));
  const inAudience = eligible && rank % stride === 0 && rank / stride < audience;
  const zurich = inAudience || (!eligible && Math.floor(i / 10) % 10 === 0);
  const role = ROLES[i % ROLES.length]!;
  const roles = i % 13 === 0 ? ['staff', role, 'approver'] : ['staff', role];
  return {
    id: userId(i, users),
    displayName: `User ${i}`,
    subjects: [{ format: 'email', email: `user${i}@example.com` }],
    locale: LOCALES[i % LOCALES.length]!,
    timeZone: ZONES[i % ZONES.length]!,
    managerId: userId(i - (i % 20), users),
    attributes: {
      department: DEPARTMENTS[department]!,
      location: zurich ? 'zurich' : LOCATIONS[Math.floor(i / 7) % LOCATIONS.length]!,
      role: roles,
      title: `${role} ${1 + (i % 4)}`,
      costCenter: `cc-${i % 250}`,
      employmentType: i % 9 === 0 ? 'contractor' : 'employee',
    },
    updatedAt: 1_767_225_600_000,
  };
}

/**
 * Streams an attribute audience as the relay does: `createStoreDirectory(store).resolve()` from the engine, which
 * reads the store's `usersByAttributes` one page of {@link PAGE_SIZE} at a time.
 */
export function streamAudience(
  store: Store,
  filter: Readonly<Record<string, readonly string[]>>,
): AsyncIterable<DirectoryUser> {
  const audience = { kind: 'attributes' as const, filter: filter as Record<string, string[]> };
  return createStoreDirectory(store, { pageSize: PAGE_SIZE }).resolve(audience);
}

/**
 * Consumes `users` and reports how far memory rose above a collected baseline while streaming, in MB: `heapMb` is
 * the live heap (collected at every page boundary, so garbage not yet swept does not count — what the stream holds),
 * `heapPeakMb` the peak heap including garbage (sampled before collecting), `rssMb` the peak RSS. Needs
 * `--expose-gc` (the bench runner passes it).
 */
export async function trackMemory(
  users: AsyncIterable<unknown>,
): Promise<{ count: number; heapMb: number; heapPeakMb: number; rssMb: number }> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('trackMemory needs node --expose-gc');
  gc();
  const base = process.memoryUsage();
  let live = base.heapUsed;
  let peak = base.heapUsed;
  let rss = base.rss;
  let count = 0;
  for await (const _ of users) {
    if (++count % PAGE_SIZE === 0) {
      const before = process.memoryUsage();
      peak = Math.max(peak, before.heapUsed);
      rss = Math.max(rss, before.rss);
      gc();
      live = Math.max(live, process.memoryUsage().heapUsed);
    }
  }
  const mb = (bytes: number) => bytes / 1024 / 1024;
  return {
    count,
    heapMb: mb(live - base.heapUsed),
    heapPeakMb: mb(peak - base.heapUsed),
    rssMb: mb(rss - base.rss),
  };
}
