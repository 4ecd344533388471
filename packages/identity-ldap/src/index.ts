/**
 * `@idrelay/identity-ldap`: an LDAP directory connector for idrelay (ldapts) — a `Directory` for audiences, a
 * change feed as a pull `IdentitySource`, and a `WriteBack` for acknowledgements and decisions.
 *
 * @packageDocumentation
 */

export {
  createLdapDirectory,
  type LdapDirectory,
  type LdapDirectoryOptions,
  type ResourceApprovers,
} from './directory/create-ldap-directory.js';
export { LDAP_ERRORS, type LdapErrorCode } from './errors.js';
export {
  checkConnectionOptions,
  createLdapConnection,
  type LdapConnection,
  type LdapConnectionOptions,
} from './ldap/connection.js';
export {
  type Ava,
  childDN,
  dnKey,
  escapeDNValue,
  escapeFilterValue,
  formatDN,
  isUnder,
  parseDN,
} from './ldap/escape.js';
export { attributeRecordFilter, compileFilter, type LdapFilterSpec } from './ldap/filter.js';
export { checkSchema, LDAP_SCHEMAS, type LdapSchema } from './ldap/schema.js';
