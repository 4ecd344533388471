/**
 * jose for the floor: the root depends on the very version `@idrelay/identity-oidc` verifies with (6.2.18), so
 * pnpm links one copy and the floor and the connector run the same code.
 */
import * as jose from 'jose';

export { jose };
