import { createEvent } from '@idrelay/core/events';
import { describe, expect, it } from 'vitest';
import { createLdapWriteBack, dnKey } from '../src/index.js';
import { ldap, skipReason, useSlapd } from './ldap-harness.js';

const acknowledged = (id: string, userId: string) =>
  createEvent(
    'idrelay.notification.acknowledged',
    { notificationId: 'n-1', userId, acknowledgedAt: '2026-12-03T10:00:00Z', deviceId: 'd-1' },
    { source: '/relay', id },
  );
const approved = (id: string, approver: string) =>
  createEvent(
    'idrelay.access.approved',
    { requestId: 'r-9', approver: { id: approver }, decidedAt: '2026-12-03T10:01:00Z' },
    { source: '/relay', id },
  );

describe.skipIf(!ldap.available)(`LDAP write-back${skipReason}`, () => {
  const env = useSlapd({ users: 20 });
  const records = async (dn: string, attribute = 'idrelayRecord') => {
    const { searchEntries } = await env.admin().search(dn, { scope: 'base', attributes: [attribute] });
    const value = searchEntries[0]?.[attribute];
    return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map(String);
  };

  it('adds one record per event to an attribute, idempotently', async () => {
    const writeBack = createLdapWriteBack({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      target: { kind: 'attribute', attribute: 'idrelayRecord' },
    });
    const dn = `uid=user0003,${env.slapd().peopleDN}`;
    expect(await writeBack.write(acknowledged('ev-1', 'user0003'))).toEqual({ status: 'written', reference: dn });
    expect(await writeBack.write(acknowledged('ev-1', 'user0003'))).toEqual({ status: 'written', reference: dn });
    expect(await writeBack.write(approved('ev-2', 'user0003'))).toMatchObject({ status: 'written' });
    const stored = (await records(dn)).map((v) => JSON.parse(v));
    expect(stored).toEqual([
      {
        event: 'ev-1',
        type: 'idrelay.notification.acknowledged',
        decision: 'acknowledged',
        at: '2026-12-03T10:00:00Z',
        notificationId: 'n-1',
        deviceId: 'd-1',
      },
      {
        event: 'ev-2',
        type: 'idrelay.access.approved',
        decision: 'approved',
        at: '2026-12-03T10:01:00Z',
        requestId: 'r-9',
      },
    ]);
  });

  it('writes a child entry named by the event id, and a hostile id stays under the user', async () => {
    const writeBack = createLdapWriteBack({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      target: { kind: 'child' },
    });
    const { peopleDN, groupsDN } = env.slapd();
    const hostile = `x,${groupsDN}+cn=admins`;
    const result = await writeBack.write(acknowledged(hostile, 'user0004'));
    expect(result.status).toBe('written');
    const { searchEntries } = await env
      .admin()
      .search(`uid=user0004,${peopleDN}`, { scope: 'one', attributes: ['cn', 'idrelayRecord'] });
    expect(searchEntries).toHaveLength(1);
    expect(searchEntries[0]!.cn).toBe(hostile);
    expect(dnKey((result as { reference: string }).reference)).toBe(dnKey(searchEntries[0]!.dn));
    const groups = await env.admin().search(groupsDN, { scope: 'sub', filter: '(cn=x*)' });
    expect(groups.searchEntries).toEqual([]);
    expect(await writeBack.write(acknowledged(hostile, 'user0004'))).toEqual(result);
  });

  it('never writes to another user through a hostile user id', async () => {
    const writeBack = createLdapWriteBack({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      target: { kind: 'attribute', attribute: 'idrelayRecord' },
    });
    for (const userId of ['*', 'user0005)(uid=*', 'user000*', `user0005,${env.slapd().peopleDN}`]) {
      expect(await writeBack.write(acknowledged('ev-x', userId))).toMatchObject({
        status: 'failed',
        code: 'ERR_DIRECTORY_NOT_FOUND',
        retryable: false,
      });
    }
    for (let i = 1; i <= 20; i++) {
      if (i === 3) continue;
      expect(await records(`uid=user${String(i).padStart(4, '0')},${env.slapd().peopleDN}`)).toEqual([]);
    }
  });

  it('skips other event types and reports LDAP refusals as failures', async () => {
    const writeBack = createLdapWriteBack({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      target: { kind: 'attribute', attribute: 'description' },
      types: ['idrelay.notification.acknowledged'],
    });
    expect(await writeBack.write(approved('ev-3', 'user0006'))).toMatchObject({ status: 'skipped' });
    const schemaless = createLdapWriteBack({
      connection: env.connection(),
      usersDN: env.slapd().peopleDN,
      target: { kind: 'attribute', attribute: 'notAnAttribute' },
    });
    expect(await schemaless.write(acknowledged('ev-4', 'user0006'))).toMatchObject({
      status: 'failed',
      code: 'ERR_LDAP_OPERATION',
      retryable: false,
    });
    expect(() =>
      createLdapWriteBack({
        connection: env.connection(),
        usersDN: 'ou=people',
        target: { kind: 'attribute', attribute: 'x)(y' },
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_LDAP_CONFIG' }));
  });
});
