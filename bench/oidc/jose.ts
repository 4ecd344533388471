/**
 * jose as `@idrelay/identity-oidc` resolves it: the root package does not depend on jose, and the floor must use
 * the very copy (6.2.18) the connector verifies with.
 */
import { createRequire } from 'node:module';

const fromPackage = createRequire(new URL('../../packages/identity-oidc/package.json', import.meta.url));
export const jose = (await import(fromPackage.resolve('jose'))) as typeof import('jose');
