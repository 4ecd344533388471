/** Placeholder while the package is built; see the package README. */
export const PACKAGE = "@idrelay/identity-ldap";
