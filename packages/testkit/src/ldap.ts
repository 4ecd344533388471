/**
 * `@idrelay/testkit/ldap`: a real OpenLDAP `slapd` on a free loopback port for tests and benchmarks, with a
 * generated configuration (mdb, `accesslog`, `ppolicy`) and seed directories.
 *
 * @example
 * ```ts
 * import { slapdAvailability, startSlapd } from '@idrelay/testkit/ldap';
 * const slapd = await startSlapd({ seed: 'default' });
 * ```
 * @packageDocumentation
 */

export { IDRELAY_SCHEMA } from './ldap/schema.js';
export {
  baseEntries,
  type DefaultSeedOptions,
  defaultSeedLdif,
  directoryFixtureLdif,
  generalizedTime,
  ldifLine,
  SEED_DEPARTMENTS,
  SEED_LOCATIONS,
  type SeedUser,
  seedUserId,
  seedUsers,
} from './ldap/seed.js';
export {
  type Slapd,
  type SlapdAvailability,
  type StartSlapdOptions,
  slapdAvailability,
  startSlapd,
} from './ldap/slapd.js';
