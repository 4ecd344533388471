import type { Client, Entry, SearchOptions } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { LDAP_SCHEMAS } from '../ldap/schema.js';
import { createLdapDirectory } from './create-ldap-directory.js';

const BASE = 'DC=corp,DC=example';
const GROUP = `CN=Domain Admins,CN=Users,${BASE}`;
const ALICE: Entry = {
  dn: `CN=Alice Smith,OU=Staff,${BASE}`,
  sAMAccountName: 'alice',
  displayName: 'Alice Smith',
  mail: 'alice@corp.example',
  department: 'Finance',
  manager: `CN=Bob Jones,OU=Staff,${BASE}`,
};

/** A scripted ldapts client: records every search and answers from `answer`. */
function fakeClient(answer: (base: string, options: SearchOptions) => Entry[]) {
  const searches: { base: string; filter: string; scope?: string }[] = [];
  const client = {
    isConnected: true,
    isBound: true,
    async bind() {},
    async unbind() {},
    async search(base: string, options: SearchOptions) {
      searches.push({ base, filter: String(options.filter), ...(options.scope ? { scope: options.scope } : {}) });
      return { searchEntries: answer(base, options), searchReferences: [] };
    },
    async *searchPaginated(base: string, options: SearchOptions) {
      searches.push({ base, filter: String(options.filter), ...(options.scope ? { scope: options.scope } : {}) });
      yield { searchEntries: answer(base, options), searchReferences: [] };
    },
  };
  return { client: client as unknown as Client, searches };
}

describe('Active Directory schema', () => {
  it('expands nested groups with LDAP_MATCHING_RULE_IN_CHAIN and maps AD attributes', async () => {
    const { client, searches } = fakeClient((base, options) => {
      const filter = String(options.filter);
      if (filter.includes('(objectClass=group)')) return [{ dn: GROUP, cn: 'Domain Admins' }];
      if (filter.includes('memberOf') || filter.includes('(sAMAccountName=alice)')) return [ALICE];
      if (options.scope === 'base' && base.startsWith('CN=Bob')) return [{ dn: base, sAMAccountName: 'bob' }];
      return [];
    });
    const directory = createLdapDirectory({
      connection: { url: 'ldaps://dc1.corp.example', bindDN: 'CN=relay', password: 'x', createClient: () => client },
      usersDN: BASE,
      groupsDN: BASE,
      schema: LDAP_SCHEMAS.activeDirectory,
    });
    const users = [];
    for await (const user of directory.resolve({ kind: 'group', groupId: 'Domain Admins' })) users.push(user);
    expect(users).toEqual([
      {
        id: 'alice',
        displayName: 'Alice Smith',
        subjects: [{ format: 'email', email: 'alice@corp.example' }],
        managerId: 'bob',
        attributes: { department: 'Finance' },
      },
    ]);
    expect(searches.map((s) => s.filter)).toContain(
      `(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=${GROUP}))`,
    );
    for await (const _ of directory.resolve({ kind: 'group', groupId: 'Domain Admins', nested: false })) break;
    expect(searches.at(-1)!.filter).toBe(`(&(objectClass=user)(memberOf=${GROUP}))`);
    for await (const _ of directory.groupsOf('alice', { nested: true })) break;
    expect(searches.at(-1)!.filter).toBe(`(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=${ALICE.dn}))`);
  });
});
