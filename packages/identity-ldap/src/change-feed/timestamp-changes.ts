import type { Clock } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import type { Entry } from 'ldapts';
import { first, type LdapConnection, values } from '../ldap/connection.js';
import { compileFilter, type LdapFilterSpec } from '../ldap/filter.js';
import type { LdapSchema } from '../ldap/schema.js';
import type { ChangeLookups } from './accesslog-changes.js';
import { lockedEvent } from './accesslog-changes.js';
import { type LdapCheckpoint, parseGeneralizedTime } from './checkpoint.js';
import { changeId, type EventContext, idFromDN, ldapEvent, subjectOf } from './event-context.js';

/**
 * The previous state of entries, for the timestamp modes (which see that an entry changed, not what changed).
 * Keys are `u:<id>` and `g:<id>`; values map LDAP attribute names (lower case) to values. Pass a persistent store
 * in production: with the in-memory default a restart forgets the state, and changes to entries not seen since
 * are taken as the new baseline without events.
 */
export interface SnapshotStore {
  get(key: string): Promise<Record<string, string[]> | undefined>;
  set(key: string, value: Record<string, string[]>): Promise<void>;
}

interface TimestampDeps {
  connection: LdapConnection;
  schema: LdapSchema;
  context: EventContext;
  snapshots: SnapshotStore;
  usersDN: string;
  groupsDN: string;
  bulkThreshold: number;
  lookups: ChangeLookups;
  clock: Clock;
}

function tracked(schema: LdapSchema): { name: string; ldap: string; dn?: boolean }[] {
  return [
    { name: 'displayName', ldap: schema.displayName },
    { name: 'email', ldap: schema.email },
    { name: 'managerId', ldap: schema.manager, dn: true },
    ...(schema.locale ? [{ name: 'locale', ldap: schema.locale }] : []),
    ...(schema.timeZone ? [{ name: 'timeZone', ldap: schema.timeZone }] : []),
    ...Object.entries(schema.attributes).map(([name, ldap]) => ({ name, ldap })),
  ];
}

const single = (list: string[]): string | string[] | null =>
  list.length === 0 ? null : list.length === 1 ? list[0]! : list;

/**
 * One poll in `modifyTimestamp` or `uSNChanged` mode: people and groups changed since the checkpoint, diffed
 * against their snapshots. The first poll (position at its start) records every entry as the baseline.
 */
export async function timestampEvents(checkpoint: LdapCheckpoint, deps: TimestampDeps): Promise<IdentityEvent[]> {
  const { schema, context, snapshots } = deps;
  const usn = checkpoint.mode === 'uSNChanged';
  const changedAttr = usn ? 'uSNChanged' : 'modifyTimestamp';
  const createdAttr = usn ? 'uSNCreated' : 'createTimestamp';
  const baseline = checkpoint.atPosition === undefined;
  const since = usn ? String(BigInt(checkpoint.position) + 1n) : checkpoint.position;
  const trackedAttributes = tracked(schema);
  const userAttributes = [
    ...new Set([
      schema.id,
      ...trackedAttributes.map((t) => t.ldap),
      'pwdAccountLockedTime',
      'pwdReset',
      changedAttr,
      createdAttr,
    ]),
  ];
  const changedSince: LdapFilterSpec = baseline
    ? { attribute: 'objectClass', present: true }
    : { attribute: changedAttr, greaterOrEqual: since };
  let position = checkpoint.position;
  const events: IdentityEvent[] = [];
  const now = deps.clock.now();

  // Timestamps have whole seconds: entries at exactly the checkpoint are read again and, being unchanged against
  // their snapshots, yield nothing.
  const advance = (entry: Entry) => {
    const value = first(entry, changedAttr);
    if (value !== undefined && (usn ? BigInt(value) > BigInt(position) : value > position)) position = value;
  };

  const users = deps.connection.pages(deps.usersDN, {
    scope: 'sub',
    filter: compileFilter({ and: [{ attribute: 'objectClass', equals: schema.userObjectClass }, changedSince] }),
    attributes: userAttributes,
    pageSize: 1000,
  });
  for await (const page of users) {
    for (const entry of page) {
      const userId = first(entry, schema.id);
      if (!userId) continue;
      const key = `u:${userId}`;
      advance(entry);
      const state: Record<string, string[]> = {};
      for (const name of userAttributes) state[name.toLowerCase()] = values(entry, name);
      const before = await snapshots.get(key);
      await snapshots.set(key, state);
      if (baseline) continue;
      const time = parseGeneralizedTime(first(entry, 'modifyTimestamp') ?? '') ?? now;
      const id = (...parts: string[]) => changeId(checkpoint.mode, first(entry, changedAttr) ?? '', key, ...parts);
      const subject = subjectOf(userId, first(entry, schema.email));
      const created = first(entry, createdAttr);
      const isNew =
        created !== undefined && (usn ? BigInt(created) > BigInt(checkpoint.position) : created >= checkpoint.position);
      if (!before) {
        if (isNew) {
          const attributes: Record<string, string | string[]> = {};
          for (const [logical, ldap] of Object.entries(schema.attributes)) {
            const found = values(entry, ldap);
            if (found.length > 0) attributes[logical] = single(found)!;
          }
          const displayName = first(entry, schema.displayName);
          const manager = first(entry, schema.manager);
          events.push(
            ldapEvent(
              context,
              'idrelay.user.created',
              {
                userId,
                userName: userId,
                ...(displayName ? { displayName } : {}),
                ...(manager ? { managerId: idFromDN(manager, schema) } : {}),
                ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
              },
              { id: id('created'), time, subject },
            ),
          );
        }
        continue;
      }
      const changes = [];
      for (const attribute of trackedAttributes) {
        const old = before[attribute.ldap.toLowerCase()] ?? [];
        const next = state[attribute.ldap.toLowerCase()] ?? [];
        if (old.length === next.length && old.every((v, i) => v === next[i])) continue;
        const shown = (list: string[]) => single(attribute.dn ? list.map((v) => idFromDN(v, schema)) : list);
        changes.push({ attribute: attribute.name, oldValue: shown(old), newValue: shown(next) });
      }
      if (changes.length > 0)
        events.push(
          ldapEvent(
            context,
            'idrelay.user.updated',
            { userId, changes: changes.slice(0, 500) },
            { id: id('updated'), time, subject },
          ),
        );
      const lockBefore = before.pwdaccountlockedtime?.[0];
      const lockNow = state.pwdaccountlockedtime?.[0];
      if (lockNow !== undefined && lockNow !== lockBefore)
        events.push(
          lockedEvent(
            context,
            userId,
            lockNow,
            // Without a log the writer is unknown: ppolicy's permanent administrative lock has this fixed value.
            lockNow === '000001010000Z' ? 'administrator' : 'failed-logins',
            time,
            subject,
          ),
        );
      if (lockNow === undefined && lockBefore !== undefined)
        events.push(ldapEvent(context, 'idrelay.account.enabled', { userId }, { id: id('enabled'), time, subject }));
      if (state.pwdreset?.[0]?.toUpperCase() === 'TRUE' && before.pwdreset?.[0]?.toUpperCase() !== 'TRUE') {
        events.push(
          ldapEvent(
            context,
            'idrelay.account.password.reset-required',
            { userId, reason: 'administrator' },
            { id: id('reset'), time, subject },
          ),
        );
      }
    }
  }

  const groups = deps.connection.pages(deps.groupsDN, {
    scope: 'sub',
    filter: compileFilter({ and: [{ attribute: 'objectClass', equals: schema.groupObjectClass }, changedSince] }),
    attributes: [schema.groupId, schema.member, changedAttr, 'modifyTimestamp'],
    pageSize: 100,
  });
  for await (const page of groups) {
    for (const entry of page) {
      const groupId = first(entry, schema.groupId);
      if (!groupId) continue;
      const key = `g:${groupId}`;
      advance(entry);
      const members = values(entry, schema.member);
      const before = await snapshots.get(key);
      await snapshots.set(key, { member: members });
      if (baseline || !before) continue;
      const old = new Set((before.member ?? []).map((dn) => dn.toLowerCase()));
      const next = new Set(members.map((dn) => dn.toLowerCase()));
      const added = members.filter((dn) => !old.has(dn.toLowerCase()));
      const removed = (before.member ?? []).filter((dn) => !next.has(dn.toLowerCase()));
      const time = parseGeneralizedTime(first(entry, 'modifyTimestamp') ?? '') ?? now;
      const privileged = context.privileged.has(groupId);
      const stamp = first(entry, changedAttr) ?? '';
      const perMember: IdentityEvent[] = [];
      const privilege: IdentityEvent[] = [];
      let counted = { added: 0, removed: 0 };
      for (const [direction, list] of [
        ['added', added],
        ['removed', removed],
      ] as const) {
        for (const dn of list) {
          const userId = await deps.lookups.userIdOf(dn);
          if (userId === undefined) continue;
          counted = { ...counted, [direction]: counted[direction] + 1 };
          const facts = {
            id: changeId(checkpoint.mode, stamp, key, direction, userId),
            time,
            subject: subjectOf(userId, undefined),
          };
          const data = { groupId, userId, ...(privileged ? { privileged: true } : {}) };
          perMember.push(
            ldapEvent(
              context,
              direction === 'added' ? 'idrelay.group.member.added' : 'idrelay.group.member.removed',
              data,
              facts,
            ),
          );
          if (privileged) {
            const privilegeData = { userId, privilege: { id: groupId, kind: 'group' as const, system: 'ldap' } };
            const privilegeFacts = {
              ...facts,
              id: changeId(checkpoint.mode, stamp, key, 'privilege', direction, userId),
            };
            privilege.push(
              ldapEvent(
                context,
                direction === 'added' ? 'idrelay.privilege.assigned' : 'idrelay.privilege.revoked',
                privilegeData,
                privilegeFacts,
              ),
            );
          }
        }
      }
      if (counted.added + counted.removed > deps.bulkThreshold) {
        events.push(
          ldapEvent(
            context,
            'idrelay.group.bulk-changed',
            { groupId, ...counted, ...(privileged ? { privileged: true } : {}) },
            { id: changeId(checkpoint.mode, stamp, key, 'bulk'), time },
          ),
        );
      } else events.push(...perMember);
      events.push(...privilege);
    }
  }

  checkpoint.position = position;
  // An empty list marks the baseline as taken.
  checkpoint.atPosition = [];
  return events;
}
