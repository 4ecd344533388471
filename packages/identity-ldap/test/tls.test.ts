import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { checkConnectionOptions, createLdapDirectory, type LdapConnectionOptions } from '../src/index.js';
import { ldap, skipReason, useSlapd } from './ldap-harness.js';

describe('connection options', () => {
  it('refuses a clear-text password to a remote host, and inconsistent options', () => {
    const bad: LdapConnectionOptions[] = [
      { url: 'ldap://ldap.example.com', bindDN: 'cn=a', password: 'p' },
      { url: 'ldaps://ldap.example.com', startTLS: true },
      { url: 'http://ldap.example.com' },
      { url: 'ldaps://ldap.example.com', bindDN: 'cn=a' },
      { url: 'not a url' },
    ];
    for (const options of bad)
      expect(() => checkConnectionOptions(options), options.url).toThrow(
        expect.objectContaining({ code: 'ERR_LDAP_CONFIG' }),
      );
    expect(() =>
      checkConnectionOptions({ url: 'ldap://ldap.example.com', bindDN: 'cn=a', password: 'p', startTLS: true }),
    ).not.toThrow();
    expect(() =>
      checkConnectionOptions({ url: 'ldap://ldap.example.com', bindDN: 'cn=a', password: 'p', allowInsecure: true }),
    ).not.toThrow();
  });
});

describe.skipIf(!ldap.available)(`TLS to slapd${skipReason}`, () => {
  const env = useSlapd({ users: 5, tls: true });
  const directory = (connection: LdapConnectionOptions) =>
    createLdapDirectory({ connection, usersDN: env.slapd().peopleDN, groupsDN: env.slapd().groupsDN });

  it('binds over ldaps:// trusting the test CA', async () => {
    const { ldapsUrl, ca, bindDN, password } = env.slapd();
    const d = directory({ url: ldapsUrl!, bindDN, password, tls: { ca: ca! } });
    expect((await d.getUser('user0001'))?.id).toBe('user0001');
    await d.close?.();
  });

  it('upgrades ldap:// with StartTLS, and refuses a server it cannot verify', async () => {
    const { url, ca, bindDN, password } = env.slapd();
    const withTls = directory({
      url: url.replace('127.0.0.1', 'localhost'),
      bindDN,
      password,
      startTLS: true,
      tls: { ca: ca! },
    });
    expect((await withTls.getUser('user0002'))?.id).toBe('user0002');
    await withTls.close?.();
    const untrusted = directory({ url: url.replace('127.0.0.1', 'localhost'), bindDN, password, startTLS: true });
    const error = await untrusted.getUser('user0002').catch((e: unknown) => e);
    expect(isIdrelayError(error, 'ERR_LDAP_CONNECT')).toBe(true);
    await untrusted.close?.();
  });
});
