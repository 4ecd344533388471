import type { DirectoryUser, SubjectIdentifier } from '@idrelay/core';
import type { Entry } from 'ldapts';
import { first, values } from '../ldap/connection.js';
import { parseDN } from '../ldap/escape.js';
import type { LdapSchema } from '../ldap/schema.js';

/** The attributes a user search asks for under `schema`. */
export function userAttributes(schema: LdapSchema): string[] {
  const names = [
    schema.id,
    schema.displayName,
    schema.email,
    schema.manager,
    ...[schema.phone, schema.issSub, schema.locale, schema.timeZone].filter((x): x is string => x !== undefined),
    ...Object.values(schema.attributes),
  ];
  return [...new Set(names)];
}

/** The value of the first RDN of `dn` when its type is `attribute`, e.g. `alice` of `uid=alice,ou=people,…`. */
export function rdnValue(dn: string, attribute: string): string | undefined {
  const comma = dn.indexOf(',');
  const first = comma < 0 ? dn : dn.slice(0, comma);
  if (!/[\\"+#;<>]/.test(first)) {
    const eq = first.indexOf('=');
    if (eq < 0) return undefined;
    return first.slice(0, eq).trim().toLowerCase() === attribute.toLowerCase() ? first.slice(eq + 1).trim() : undefined;
  }
  try {
    const rdn = parseDN(dn)[0];
    if (rdn?.length !== 1) return undefined;
    return rdn[0]!.type.toLowerCase() === attribute.toLowerCase() ? rdn[0]!.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps an entry to a {@link DirectoryUser}. `managerId` resolves the manager's DN to an id (from its RDN when the
 * RDN is the id attribute, otherwise by a lookup the caller caches).
 */
export async function toDirectoryUser(
  entry: Entry,
  schema: LdapSchema,
  managerId: (dn: string) => Promise<string | undefined>,
): Promise<DirectoryUser | undefined> {
  const id = first(entry, schema.id);
  if (id === undefined) return undefined;
  const attributes: Record<string, string | readonly string[]> = {};
  for (const [logical, ldap] of Object.entries(schema.attributes)) {
    const found = values(entry, ldap);
    if (found.length === 1) attributes[logical] = found[0]!;
    else if (found.length > 1) attributes[logical] = found;
  }
  const subjects: SubjectIdentifier[] = [
    ...values(entry, schema.email).map((email) => ({ format: 'email' as const, email })),
    ...(schema.phone ? values(entry, schema.phone) : []).map((phone_number) => ({
      format: 'phone_number' as const,
      phone_number,
    })),
    ...(schema.issSub ? values(entry, schema.issSub) : []).flatMap((pair) => {
      const space = pair.indexOf(' ');
      return space > 0 ? [{ format: 'iss_sub' as const, iss: pair.slice(0, space), sub: pair.slice(space + 1) }] : [];
    }),
  ];
  const user: DirectoryUser = { id, attributes };
  const displayName = first(entry, schema.displayName);
  if (displayName !== undefined) user.displayName = displayName;
  if (subjects.length > 0) user.subjects = subjects;
  const locale = schema.locale ? first(entry, schema.locale) : undefined;
  if (locale !== undefined) user.locale = locale;
  const timeZone = schema.timeZone ? first(entry, schema.timeZone) : undefined;
  if (timeZone !== undefined) user.timeZone = timeZone;
  const managerDN = first(entry, schema.manager);
  if (managerDN !== undefined) {
    const manager = await managerId(managerDN);
    if (manager !== undefined) user.managerId = manager;
  }
  return user;
}
