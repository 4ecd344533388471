import { IdrelayError } from '@idrelay/core';
import { checkAttributeName } from './filter.js';

/**
 * How a directory's entries map to idrelay users and groups. Every name is an LDAP attribute (or object class)
 * name; `attributes` maps the logical names audiences use (`department`, `location` …) to LDAP attributes, and
 * only those names may appear in an attribute audience.
 */
export interface LdapSchema {
  /** Object class of people, e.g. `inetOrgPerson`, `user`. */
  userObjectClass: string;
  /** Object class of groups, e.g. `groupOfNames`, `group`. */
  groupObjectClass: string;
  /** The attribute that is a user's idrelay id (`uid`, `sAMAccountName`, `entryUUID`). */
  id: string;
  displayName: string;
  /** Attribute holding email addresses (RFC 9493 `email` subjects). */
  email: string;
  /** Attribute holding phone numbers (`phone_number` subjects); matched by the server's telephone rule. */
  phone?: string;
  /** Attribute holding `<iss> <sub>` pairs (`iss_sub` subjects). */
  issSub?: string;
  /** BCP 47 language tag, e.g. `preferredLanguage`. */
  locale?: string;
  /** IANA time zone. */
  timeZone?: string;
  /** DN-valued attribute naming the manager. */
  manager: string;
  /** The attribute that is a group's id (`cn`). */
  groupId: string;
  /** Group display name. */
  groupName?: string;
  /** DN-valued membership attribute of groups (`member`, `uniqueMember`). */
  member: string;
  /** The attribute a filter can match an entry's DN with: OpenLDAP `entryDN`, AD `distinguishedName`. */
  dnAttribute: string;
  /**
   * How nested groups are expanded: `walk` reads groups breadth-first with a visited set (any server);
   * `in-chain` asks Active Directory with LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941).
   */
  nestedGroups: 'walk' | 'in-chain';
  /** Logical attribute name → LDAP attribute, for audiences and `DirectoryUser.attributes`. */
  attributes: Readonly<Record<string, string>>;
}

/**
 * Schema presets: OpenLDAP `inetOrgPerson` with `groupOfNames` (plus the testkit's `idrelayUser` time zone and
 * `iss_sub` attributes), Active Directory `user`/`group`, and an OTDS-style schema (`oTPerson`/`oTGroup`,
 * `oTExternalID1` as id). Spread one and override what differs.
 *
 * @example
 * ```ts
 * const schema = { ...LDAP_SCHEMAS.openldap, attributes: { ...LDAP_SCHEMAS.openldap.attributes, costCenter: 'ou' } };
 * ```
 */
export const LDAP_SCHEMAS = {
  openldap: {
    userObjectClass: 'inetOrgPerson',
    groupObjectClass: 'groupOfNames',
    id: 'uid',
    displayName: 'displayName',
    email: 'mail',
    phone: 'telephoneNumber',
    issSub: 'idrelaySubject',
    locale: 'preferredLanguage',
    timeZone: 'idrelayTimeZone',
    manager: 'manager',
    groupId: 'cn',
    groupName: 'description',
    member: 'member',
    dnAttribute: 'entryDN',
    nestedGroups: 'walk',
    attributes: {
      department: 'departmentNumber',
      location: 'l',
      title: 'title',
      businessUnit: 'businessCategory',
      role: 'employeeType',
      employeeNumber: 'employeeNumber',
      organization: 'o',
      organizationalUnit: 'ou',
    },
  },
  activeDirectory: {
    userObjectClass: 'user',
    groupObjectClass: 'group',
    id: 'sAMAccountName',
    displayName: 'displayName',
    email: 'mail',
    phone: 'telephoneNumber',
    locale: 'preferredLanguage',
    manager: 'manager',
    groupId: 'cn',
    groupName: 'description',
    member: 'member',
    dnAttribute: 'distinguishedName',
    nestedGroups: 'in-chain',
    attributes: {
      department: 'department',
      location: 'l',
      office: 'physicalDeliveryOfficeName',
      title: 'title',
      businessUnit: 'division',
      company: 'company',
      employeeId: 'employeeID',
    },
  },
  otds: {
    userObjectClass: 'oTPerson',
    groupObjectClass: 'oTGroup',
    id: 'oTExternalID1',
    displayName: 'displayName',
    email: 'mail',
    phone: 'telephoneNumber',
    locale: 'preferredLanguage',
    manager: 'manager',
    groupId: 'cn',
    groupName: 'description',
    member: 'oTMember',
    dnAttribute: 'entryDN',
    nestedGroups: 'walk',
    attributes: {
      department: 'oTDepartment',
      location: 'l',
      title: 'title',
      businessUnit: 'oTCompany',
      externalId2: 'oTExternalID2',
      externalId3: 'oTExternalID3',
      externalId4: 'oTExternalID4',
    },
  },
} as const satisfies Record<string, LdapSchema>;

/** Checks every name of a schema, so a typo fails at start-up rather than as an empty audience. */
export function checkSchema(schema: LdapSchema): LdapSchema {
  const names = [
    schema.userObjectClass,
    schema.groupObjectClass,
    schema.id,
    schema.displayName,
    schema.email,
    schema.manager,
    schema.groupId,
    schema.member,
    schema.dnAttribute,
    ...[schema.phone, schema.issSub, schema.locale, schema.timeZone, schema.groupName].filter(
      (x): x is string => x !== undefined,
    ),
    ...Object.values(schema.attributes),
  ];
  try {
    for (const name of names) checkAttributeName(name);
  } catch (cause) {
    throw new IdrelayError('ERR_LDAP_CONFIG', `The LDAP schema mapping has a bad name: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (schema.nestedGroups !== 'walk' && schema.nestedGroups !== 'in-chain') {
    throw new IdrelayError('ERR_LDAP_CONFIG', 'schema.nestedGroups must be "walk" or "in-chain"');
  }
  return schema;
}
