/** Placeholder: `@idrelay/testkit/ldap` is being built. */
export {};
