/** Placeholder: `@idrelay/testkit/device` is being built. */
export {};
