import { DIRECTORY_FIXTURE, directoryContract } from '@idrelay/testkit/contracts';
import { directoryFixtureLdif, type Slapd, slapdAvailability, startSlapd } from '@idrelay/testkit/ldap';
import { afterAll, describe } from 'vitest';
import { createLdapDirectory } from '../src/index.js';

const ldap = slapdAvailability();
const baseDN = 'dc=example,dc=test';

describe.skipIf(!ldap.available)(`LDAP directory contract${ldap.reason ? ` (skipped: ${ldap.reason})` : ''}`, () => {
  let slapd: Slapd | undefined;
  afterAll(async () => {
    await slapd?.stop();
  });
  directoryContract({
    name: 'ldap',
    async create(fixture) {
      slapd = await startSlapd({ seed: directoryFixtureLdif(fixture, baseDN), baseDN });
      return createLdapDirectory({
        connection: { url: slapd.url, bindDN: slapd.bindDN, password: slapd.password },
        usersDN: slapd.peopleDN,
        groupsDN: slapd.groupsDN,
        privilegedGroups: (fixture.groups ?? []).filter((g) => g.privileged).map((g) => g.id),
        resourceApprovers: Object.fromEntries(
          Object.entries(fixture.resourceApprovers ?? {}).map(([id, a]) => [
            id,
            { users: [...(a.users ?? [])], groups: [...(a.groups ?? [])] },
          ]),
        ),
      });
    },
  });
  void DIRECTORY_FIXTURE;
});
