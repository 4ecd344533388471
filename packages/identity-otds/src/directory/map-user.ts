import type { DirectoryUser, SimpleSubjectIdentifier } from '@idrelay/core';
import type { OtdsUser } from '../client/otds-types.js';

/**
 * Which OTDS attributes carry what idrelay needs. OTDS's own schema names `displayName`, `mail`, `mobile`,
 * `telephoneNumber` and `preferredLanguage` (inetOrgPerson); a manager, a time zone or an external IdP's subject are
 * whatever attribute a deployment maps them to, so those have no default beyond `manager`.
 */
export interface OtdsAttributeMapping {
  /** Default `displayName`. */
  displayName: string;
  /** Attributes holding e-mail addresses, each an `email` subject. Default `['mail']`. */
  email: readonly string[];
  /** Attributes holding E.164 phone numbers, each a `phone_number` subject. Default `['mobile']`. */
  phone: readonly string[];
  /** BCP 47 language tag. Default `preferredLanguage`. */
  locale: string;
  /** IANA time zone; no default (OTDS has no standard attribute). */
  timeZone?: string;
  /** The manager's OTDS user id. Default `manager`; a DN there is passed on as it is. */
  manager: string;
  /** `iss_sub` subjects: issuer → the attribute holding the user's `sub` at that issuer. Default none. */
  issuers: Readonly<Record<string, string>>;
}

/** The defaults of {@link OtdsAttributeMapping}. */
export const DEFAULT_ATTRIBUTE_MAPPING: OtdsAttributeMapping = Object.freeze({
  displayName: 'displayName',
  email: ['mail'],
  phone: ['mobile'],
  locale: 'preferredLanguage',
  manager: 'manager',
  issuers: {},
});

const E164 = /^\+[1-9][0-9 ().-]{3,24}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

function first(user: OtdsUser, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const value = user.attributes[name]?.[0];
  return value === undefined || value === '' ? undefined : value;
}

/** The subject identifiers an OTDS user is known by, per the mapping; malformed values are left out. */
export function subjectsOf(user: OtdsUser, mapping: OtdsAttributeMapping): SimpleSubjectIdentifier[] {
  const subjects: SimpleSubjectIdentifier[] = [];
  for (const name of mapping.email) {
    for (const email of user.attributes[name] ?? []) if (EMAIL.test(email)) subjects.push({ format: 'email', email });
  }
  for (const name of mapping.phone) {
    for (const phone of user.attributes[name] ?? []) {
      if (E164.test(phone)) subjects.push({ format: 'phone_number', phone_number: phone });
    }
  }
  for (const [iss, name] of Object.entries(mapping.issuers)) {
    for (const sub of user.attributes[name] ?? []) if (sub !== '') subjects.push({ format: 'iss_sub', iss, sub });
  }
  return subjects;
}

/** An OTDS user as a `DirectoryUser`: one-value attributes become strings, several stay lists. */
export function toDirectoryUser(user: OtdsUser, mapping: OtdsAttributeMapping): DirectoryUser {
  const attributes: Record<string, string | readonly string[]> = {};
  for (const [name, values] of Object.entries(user.attributes)) {
    if (values.length === 0) continue;
    attributes[name] = values.length === 1 ? (values[0] as string) : values;
  }
  const displayName = first(user, mapping.displayName);
  const locale = first(user, mapping.locale);
  const timeZone = first(user, mapping.timeZone);
  const managerId = first(user, mapping.manager);
  const subjects = subjectsOf(user, mapping);
  return {
    id: user.id,
    ...(displayName === undefined ? {} : { displayName }),
    ...(subjects.length === 0 ? {} : { subjects }),
    ...(locale === undefined ? {} : { locale }),
    ...(timeZone === undefined ? {} : { timeZone }),
    ...(managerId === undefined ? {} : { managerId }),
    attributes,
  };
}
