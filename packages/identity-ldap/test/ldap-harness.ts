import { type Slapd, type StartSlapdOptions, slapdAvailability, startSlapd } from '@idrelay/testkit/ldap';
import { Client } from 'ldapts';
import { afterAll, beforeAll } from 'vitest';
import { createLdapConnection, type LdapConnection } from '../src/index.js';

/** Whether slapd is here; under CI=true a missing slapd throws at import, failing the file. */
export const ldap = slapdAvailability();
export const skipReason = ldap.reason ? ` (skipped: ${ldap.reason})` : '';

/** One slapd per test file, an admin ldapts client to make changes with, and a connector connection. */
export function useSlapd(options: StartSlapdOptions = {}): {
  slapd: () => Slapd;
  admin: () => Client;
  connection: () => LdapConnection;
} {
  let slapd: Slapd | undefined;
  let admin: Client | undefined;
  let connection: LdapConnection | undefined;
  beforeAll(async () => {
    slapd = await startSlapd(options);
    admin = new Client({ url: slapd.url });
    await admin.bind(slapd.bindDN, slapd.password);
    connection = createLdapConnection({ url: slapd.url, bindDN: slapd.bindDN, password: slapd.password });
  });
  afterAll(async () => {
    await connection?.close();
    await admin?.unbind().catch(() => undefined);
    await slapd?.stop();
  });
  return { slapd: () => slapd!, admin: () => admin!, connection: () => connection! };
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
