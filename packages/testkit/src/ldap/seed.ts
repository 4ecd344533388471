import type { MemoryDirectoryOptions } from '../directory/memory-directory.js';

/** Departments of the default seed; user `i` is in `SEED_DEPARTMENTS[i % 8]`. */
export const SEED_DEPARTMENTS = ['finance', 'it', 'security', 'hr', 'sales', 'legal', 'operations', 'engineering'];
/** Locations of the default seed; user `i` is in `SEED_LOCATIONS[i % 5]`. */
export const SEED_LOCATIONS = ['zurich', 'berlin', 'london', 'new-york', 'singapore'];
const TITLES = ['Engineer', 'Analyst', 'Specialist', 'Consultant'];

/** One person of the default seed, as the LDIF holds it. */
export interface SeedUser {
  /** `uid`, e.g. `user0042`. */
  uid: string;
  index: number;
  department: string;
  location: string;
  title: string;
  businessUnit: string;
  /** `uid` of the manager; absent for `user0001`, the top of the tree. */
  manager?: string;
  /** Days before the seed's `now` the password was last changed (`pwdChangedTime`). */
  passwordAgeDays: number;
}

/** The `uid` of seed user `index` (1-based): `user0001` … */
export function seedUserId(index: number): string {
  return `user${String(index).padStart(4, '0')}`;
}

/**
 * The people of the default seed, deterministic in `count`: user 1 heads everything, users 2–9 head a department,
 * users 10–49 lead teams (five per department), everyone else reports to a team lead of their own department.
 *
 * @example
 * ```ts
 * const finance = seedUsers(1000).filter((user) => user.department === 'finance').length; // 125
 * ```
 */
export function seedUsers(count: number): SeedUser[] {
  const users: SeedUser[] = [];
  const heads = new Map<string, string>();
  const leads = new Map<string, string[]>();
  for (let index = 1; index <= count; index++) {
    const department = SEED_DEPARTMENTS[index % SEED_DEPARTMENTS.length]!;
    let manager: string | undefined;
    if (index === 1) manager = undefined;
    else if (index <= 9) {
      manager = seedUserId(1);
      heads.set(department, seedUserId(index));
    } else if (index <= 49) {
      manager = heads.get(department) ?? seedUserId(1);
      leads.set(department, [...(leads.get(department) ?? []), seedUserId(index)]);
    } else {
      const pool = leads.get(department) ?? [];
      manager = pool.length > 0 ? pool[index % pool.length] : (heads.get(department) ?? seedUserId(1));
    }
    users.push({
      uid: seedUserId(index),
      index,
      department,
      location: SEED_LOCATIONS[index % SEED_LOCATIONS.length]!,
      title: TITLES[index % TITLES.length]!,
      businessUnit: `bu-${index % 3}`,
      ...(manager === undefined ? {} : { manager }),
      passwordAgeDays: index % 100,
    });
  }
  return users;
}

/** Encodes one `name: value` line of LDIF (RFC 2849 §3), base64 when the value is not a SAFE-STRING. */
export function ldifLine(name: string, value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: RFC 2849 SAFE-CHAR excludes NUL, LF and CR.
  const unsafe = /^[\s:<]|[\0\n\r]|\s$|[^\x00-\x7f]/.test(value);
  return unsafe ? `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}` : `${name}: ${value}`;
}

function entry(dn: string, attributes: [string, string | readonly string[] | undefined][]): string {
  const lines = [ldifLine('dn', dn)];
  for (const [name, value] of attributes) {
    if (value === undefined) continue;
    for (const one of typeof value === 'string' ? [value] : value) lines.push(ldifLine(name, one));
  }
  return `${lines.join('\n')}\n`;
}

/** An LDAP generalized time (RFC 4517 §3.3.13) with second precision, e.g. `20261203114000Z`. */
export function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** The containers every seed has under the base DN: people, groups and password policies. */
export function baseEntries(baseDN: string): string[] {
  const first = /^dc=([^,]+)/i.exec(baseDN)?.[1] ?? 'example';
  return [
    entry(baseDN, [
      ['objectClass', ['top', 'dcObject', 'organization']],
      ['dc', first],
      ['o', first],
    ]),
    entry(`ou=people,${baseDN}`, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'people'],
    ]),
    entry(`ou=groups,${baseDN}`, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'groups'],
    ]),
    entry(`ou=policies,${baseDN}`, [
      ['objectClass', 'organizationalUnit'],
      ['ou', 'policies'],
    ]),
    entry(`cn=default,ou=policies,${baseDN}`, [
      ['objectClass', ['top', 'device', 'pwdPolicy']],
      ['cn', 'default'],
      ['pwdAttribute', 'userPassword'],
      ['pwdMaxAge', String(90 * 86_400)],
      ['pwdExpireWarning', String(14 * 86_400)],
      ['pwdLockout', 'TRUE'],
      ['pwdMaxFailure', '3'],
      ['pwdLockoutDuration', '0'],
      ['pwdMustChange', 'FALSE'],
    ]),
  ];
}

/** Options of {@link defaultSeedLdif}. */
export interface DefaultSeedOptions {
  baseDN: string;
  /** People to generate. Default 1,000. */
  users?: number;
  /** The seed's "now", for `pwdChangedTime`. Default the current time. */
  now?: Date;
}

/**
 * The default seed as LDIF: `users` people across {@link SEED_DEPARTMENTS} and {@link SEED_LOCATIONS} with
 * managers and password ages; a group per department (`dept-finance` …) nested in `staff`; the privileged
 * `admins` group holding `user0001`, the nested group `db-admins` (`user0002`, `user0003`) and `it-oncall`
 * (`user0010`, `user0018`), which holds `admins` back (a cycle); and the password policy
 * `cn=default,ou=policies` (90-day maximum age, 14-day warning, lockout after 3 failures).
 *
 * @example
 * ```ts
 * const ldif = defaultSeedLdif({ baseDN: 'dc=example,dc=test', users: 1000 });
 * ```
 */
export function defaultSeedLdif(options: DefaultSeedOptions): string {
  const { baseDN } = options;
  const now = options.now ?? new Date();
  const people = `ou=people,${baseDN}`;
  const groups = `ou=groups,${baseDN}`;
  const userDN = (uid: string) => `uid=${uid},${people}`;
  const groupDN = (cn: string) => `cn=${cn},${groups}`;
  const users = seedUsers(options.users ?? 1000);
  const out = baseEntries(baseDN);
  for (const user of users) {
    const name = `User ${user.index}`;
    out.push(
      entry(userDN(user.uid), [
        ['objectClass', ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'idrelayUser']],
        ['uid', user.uid],
        ['cn', name],
        ['sn', String(user.index)],
        ['givenName', 'User'],
        ['displayName', name],
        ['mail', `${user.uid}@example.test`],
        ['departmentNumber', user.department],
        ['l', user.location],
        ['title', user.title],
        ['businessCategory', user.businessUnit],
        ['employeeNumber', String(user.index)],
        ['preferredLanguage', user.index % 2 === 0 ? 'de-CH' : 'en-GB'],
        ['idrelayTimeZone', user.location === 'zurich' ? 'Europe/Zurich' : 'UTC'],
        ['manager', user.manager === undefined ? undefined : userDN(user.manager)],
        ['userPassword', `secret-${user.uid}`],
        ['pwdChangedTime', generalizedTime(new Date(now.getTime() - user.passwordAgeDays * 86_400_000))],
      ]),
    );
  }
  for (const department of SEED_DEPARTMENTS) {
    const members = users.filter((user) => user.department === department).map((user) => userDN(user.uid));
    if (members.length === 0) continue;
    out.push(group(groupDN(`dept-${department}`), `dept-${department}`, members));
  }
  out.push(
    group(
      groupDN('staff'),
      'staff',
      SEED_DEPARTMENTS.filter((d) => users.some((u) => u.department === d)).map((d) => groupDN(`dept-${d}`)),
    ),
  );
  const pick = (index: number) => (index <= users.length ? [userDN(seedUserId(index))] : []);
  out.push(group(groupDN('db-admins'), 'db-admins', [...pick(2), ...pick(3)]));
  out.push(group(groupDN('admins'), 'admins', [...pick(1), groupDN('db-admins'), groupDN('it-oncall')]));
  out.push(group(groupDN('it-oncall'), 'it-oncall', [...pick(10), ...pick(18), groupDN('admins')]));
  return out.join('\n');
}

function group(dn: string, cn: string, members: readonly string[]): string {
  return entry(dn, [
    ['objectClass', ['top', 'groupOfNames']],
    ['cn', cn],
    ['member', members],
  ]);
}

/**
 * The contract fixture of `directoryContract()` as LDIF under `baseDN`, in the OpenLDAP inetOrgPerson mapping:
 * `uid` ids, `departmentNumber`, `l`, `employeeType` for `role`, `preferredLanguage`, `idrelayTimeZone`, `mail`,
 * `telephoneNumber`, `idrelaySubject` (`iss sub`), `manager` DNs, `groupOfNames` groups under `ou=groups` whose
 * `member` values name users and nested groups.
 *
 * @example
 * ```ts
 * const slapd = await startSlapd({ seed: directoryFixtureLdif(DIRECTORY_FIXTURE, 'dc=example,dc=test') });
 * ```
 */
export function directoryFixtureLdif(fixture: MemoryDirectoryOptions, baseDN: string): string {
  const userDN = (uid: string) => `uid=${uid},ou=people,${baseDN}`;
  const groupDN = (cn: string) => `cn=${cn},ou=groups,${baseDN}`;
  const out = baseEntries(baseDN);
  const one = (value: string | readonly string[] | undefined) => value;
  for (const user of fixture.users) {
    const subjects = user.subjects ?? [];
    const flat = subjects.flatMap((s) => (s.format === 'aliases' ? s.identifiers : [s]));
    const attributes = user.attributes ?? {};
    out.push(
      entry(userDN(user.id), [
        ['objectClass', ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'idrelayUser']],
        ['uid', user.id],
        ['cn', user.displayName ?? user.id],
        ['sn', user.id],
        ['displayName', user.displayName],
        ['mail', flat.flatMap((s) => (s.format === 'email' ? [s.email] : []))],
        ['telephoneNumber', flat.flatMap((s) => (s.format === 'phone_number' ? [s.phone_number] : []))],
        ['idrelaySubject', flat.flatMap((s) => (s.format === 'iss_sub' ? [`${s.iss} ${s.sub}`] : []))],
        ['departmentNumber', one(attributes.department)],
        ['l', one(attributes.location)],
        ['employeeType', one(attributes.role)],
        ['preferredLanguage', user.locale],
        ['idrelayTimeZone', user.timeZone],
        ['manager', user.managerId === undefined ? undefined : userDN(user.managerId)],
      ]),
    );
  }
  for (const g of fixture.groups ?? []) {
    const members = [...(g.members ?? []).map(userDN), ...(g.groups ?? []).map(groupDN)];
    out.push(
      entry(groupDN(g.id), [
        ['objectClass', ['top', 'groupOfNames']],
        ['cn', g.id],
        ['description', g.name],
        ['member', members],
      ]),
    );
  }
  return out.join('\n');
}
