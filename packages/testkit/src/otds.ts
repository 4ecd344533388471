/** Placeholder: `@idrelay/testkit/otds` is being built. */
export {};
