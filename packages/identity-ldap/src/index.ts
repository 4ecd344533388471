/**
 * `@idrelay/identity-ldap`: an LDAP directory connector for idrelay (ldapts) — a `Directory` for audiences, a
 * change feed as a pull `IdentitySource`, and a `WriteBack` for acknowledgements and decisions.
 *
 * @packageDocumentation
 */

export type { ChangeLookups } from './change-feed/accesslog-changes.js';
export { decodeCheckpoint, encodeCheckpoint, type LdapCheckpoint } from './change-feed/checkpoint.js';
export {
  createLdapChangeFeed,
  type LdapChangeFeed,
  type LdapChangeFeedOptions,
  type PasswordPolicySource,
} from './change-feed/create-ldap-change-feed.js';
export { type CheckpointStore, type RunChangeFeedOptions, runChangeFeed } from './change-feed/run-change-feed.js';
export type { SnapshotStore } from './change-feed/timestamp-changes.js';
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
export {
  createLdapWriteBack,
  defaultRecord,
  type LdapWriteBackOptions,
  type LdapWriteBackTarget,
} from './write-back/create-ldap-write-back.js';
