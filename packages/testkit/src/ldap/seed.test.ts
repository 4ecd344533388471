import { describe, expect, it } from 'vitest';
import { DIRECTORY_FIXTURE } from '../directory/directory-contract.js';
import { defaultSeedLdif, directoryFixtureLdif, ldifLine, seedUsers } from './seed.js';

describe('LDAP seeds', () => {
  it('base64-encodes LDIF values that are not SAFE-STRINGs (RFC 2849)', () => {
    expect(ldifLine('cn', 'plain')).toBe('cn: plain');
    for (const value of [' lead', ':colon', '<angle', 'trail ', 'nul\u0000', 'Zürich', 'two\nlines']) {
      expect(ldifLine('cn', value)).toBe(`cn:: ${Buffer.from(value).toString('base64')}`);
    }
  });

  it('generates a deterministic directory with managers up to user0001', () => {
    const users = seedUsers(1000);
    expect(users).toEqual(seedUsers(1000));
    const byId = new Map(users.map((u) => [u.uid, u]));
    for (const user of users) {
      let hops = 0;
      for (let at = user; at.manager !== undefined; at = byId.get(at.manager)!) hops++;
      expect(hops).toBeLessThanOrEqual(3);
    }
    expect(users.filter((u) => u.department === 'finance')).toHaveLength(125);
    const ldif = defaultSeedLdif({ baseDN: 'dc=example,dc=test', users: 1000, now: new Date(0) });
    expect(ldif.match(/^dn: uid=/gm)).toHaveLength(1000);
    expect(ldif).toContain(
      'dn: cn=admins,ou=groups,dc=example,dc=test\nobjectClass: top\nobjectClass: groupOfNames\ncn: admins',
    );
    expect(ldif).toContain('pwdMaxAge: 7776000');
  });

  it('writes the directory contract fixture with subjects, roles and nested groups', () => {
    const ldif = directoryFixtureLdif(DIRECTORY_FIXTURE, 'dc=example,dc=test');
    expect(ldif).toContain('idrelaySubject: https://idp.example.com b-1');
    expect(ldif).toContain('employeeType: admin\nemployeeType: dev');
    expect(ldif).toContain('member: cn=soc-oncall,ou=groups,dc=example,dc=test');
  });
});
