import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Slapd, slapdAvailability, startSlapd } from './slapd.js';

const ldap = slapdAvailability();
const tools = spawnSync('ldapsearch', ['-VV'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!ldap.available || !tools)(`startSlapd${ldap.reason ? ` (skipped: ${ldap.reason})` : ''}`, () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd({ users: 40, overlays: ['dynlist'] });
  });
  afterAll(async () => {
    await slapd?.stop();
  });
  const search = (base: string, filter: string, ...attributes: string[]) => {
    const out = spawnSync(
      'ldapsearch',
      ['-LLL', '-x', '-H', slapd.url, '-D', slapd.bindDN, '-w', slapd.password, '-b', base, filter, ...attributes],
      { encoding: 'utf8' },
    );
    expect(out.status, out.stderr).toBe(0);
    return out.stdout;
  };

  it('serves the seed on a loopback port to the admin bind only', () => {
    expect(slapd.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(search(slapd.peopleDN, '(objectClass=inetOrgPerson)', 'uid').match(/^uid: /gm)).toHaveLength(40);
    const anonymous = spawnSync('ldapsearch', ['-LLL', '-x', '-H', slapd.url, '-b', slapd.peopleDN, '(uid=*)'], {
      encoding: 'utf8',
    });
    expect(anonymous.stdout).not.toContain('uid: user');
  });

  it('loads the password policy and, with dynlist, nested memberOf', () => {
    expect(search(slapd.policyDN, '(objectClass=pwdPolicy)', 'pwdMaxAge')).toContain('pwdMaxAge: 7776000');
    const memberOf = search(slapd.peopleDN, '(uid=user0002)', 'memberOf');
    expect(memberOf).toContain('memberOf: cn=admins,ou=groups,dc=example,dc=test');
    expect(memberOf).toContain('memberOf: cn=staff,ou=groups,dc=example,dc=test');
  });

  it('logs writes to cn=accesslog and stops cleanly', async () => {
    const modify = spawnSync('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.bindDN, '-w', slapd.password], {
      input: `dn: uid=user0003,${slapd.peopleDN}\nchangetype: modify\nreplace: title\ntitle: Logged\n`,
      encoding: 'utf8',
    });
    expect(modify.status, modify.stderr).toBe(0);
    expect(search('cn=accesslog', '(reqType=modify)', 'reqMod')).toContain('reqMod: title:= Logged');
  });
});
