import type { IdentityEvent } from '@idrelay/core/events';
import type { Entry } from 'ldapts';
import { rdnValue } from '../directory/user-entry.js';
import { first, values } from '../ldap/connection.js';
import { isUnder } from '../ldap/escape.js';
import { parseGeneralizedTime } from './checkpoint.js';
import { actorOf, changeId, type EventContext, idFromDN, ldapEvent, subjectOf } from './event-context.js';
import { applyMods, type Modification, parseReqMods, parseReqOld } from './req-mod.js';

/** Directory lookups the translation needs for DNs whose RDN is not the id attribute. */
export interface ChangeLookups {
  /** The user id of a DN, or undefined when it is not a person (a nested group, a deleted entry). */
  userIdOf(dn: string): Promise<string | undefined>;
  /** The group id of a DN, or undefined when it is not a group. */
  groupIdOf(dn: string): Promise<string | undefined>;
  /** User ids of a group, nested groups included (for privilege granted through a nested group). */
  usersOfGroup(groupId: string): AsyncIterable<{ id: string }>;
}

/** Where the accesslog says the people and groups live. */
export interface AccesslogScope {
  usersDN: string;
  groupsDN: string;
  /** More than this many membership changes of one group in one poll become one `group.bulk-changed`. */
  bulkThreshold: number;
}

/** The attributes an accesslog search asks for. */
export const ACCESSLOG_ATTRIBUTES = ['reqStart', 'reqType', 'reqDN', 'reqMod', 'reqOld', 'reqAuthzID', 'reqResult'];

interface Tracked {
  /** Logical name in `user.updated` changes. */
  name: string;
  /** LDAP attribute. */
  ldap: string;
  /** DN-valued: report ids. */
  dn?: boolean;
}

function trackedAttributes(context: EventContext): Tracked[] {
  const s = context.schema;
  return [
    { name: 'displayName', ldap: s.displayName },
    { name: 'email', ldap: s.email },
    { name: 'managerId', ldap: s.manager, dn: true },
    ...(s.locale ? [{ name: 'locale', ldap: s.locale }] : []),
    ...(s.timeZone ? [{ name: 'timeZone', ldap: s.timeZone }] : []),
    ...Object.entries(s.attributes).map(([name, ldap]) => ({ name, ldap })),
  ];
}

const single = (list: string[]): string | string[] | null =>
  list.length === 0 ? null : list.length === 1 ? list[0]! : list;

interface Slot {
  event: IdentityEvent;
  /** Set on membership events, which a bulk change of their group replaces. */
  groupKey?: string;
}

interface GroupTally {
  groupId: string;
  groupName?: string;
  added: number;
  removed: number;
  firstSlot: number;
  time: number;
  reqStart: string;
  by?: { id: string; type: 'user' };
}

/**
 * Translates accesslog entries (oldest first) into catalogue events: `user.created`, `user.updated` with an
 * attribute diff (old values from `reqOld`), `user.deleted`, `account.locked` / `account.enabled`
 * (`pwdAccountLockedTime`), `account.password.reset-required` (`pwdReset`), `group.member.added` / `removed`,
 * `privilege.assigned` / `revoked` for privileged groups, and `group.bulk-changed` over the threshold.
 */
export async function accesslogEvents(
  entries: readonly Entry[],
  context: EventContext,
  scope: AccesslogScope,
  lookups: ChangeLookups,
): Promise<IdentityEvent[]> {
  const { schema } = context;
  const tracked = trackedAttributes(context);
  const slots: Slot[] = [];
  const tallies = new Map<string, GroupTally>();
  const push = (event: IdentityEvent, groupKey?: string) => slots.push(groupKey ? { event, groupKey } : { event });

  for (const entry of entries) {
    const reqStart = first(entry, 'reqStart') ?? '';
    const time = parseGeneralizedTime(reqStart) ?? Date.now();
    const type = first(entry, 'reqType');
    const dn = first(entry, 'reqDN') ?? '';
    const mods = parseReqMods(values(entry, 'reqMod'));
    const old = parseReqOld(values(entry, 'reqOld'));
    const by = actorOf(first(entry, 'reqAuthzID'), schema);
    const modsOf = (ldap: string) => mods.filter((m) => m.attribute.toLowerCase() === ldap.toLowerCase());
    const memberMods = modsOf(schema.member);
    const id = (...parts: string[]) => changeId(reqStart, dn.toLowerCase(), ...parts);
    const inUsers = safeUnder(dn, scope.usersDN);
    const inGroups = safeUnder(dn, scope.groupsDN);
    const addedClasses = modsOf('objectClass').flatMap((m) => m.values.map((v) => v.toLowerCase()));
    const oldClasses = (old.get('objectclass') ?? []).map((v) => v.toLowerCase());
    const isGroupChange =
      inGroups &&
      (memberMods.length > 0 || addedClasses.includes(schema.groupObjectClass.toLowerCase())) &&
      !addedClasses.includes(schema.userObjectClass.toLowerCase());

    if (isGroupChange && (type === 'modify' || type === 'add')) {
      // The entry holds member changes under groupsDN: a group, whose id is its RDN when that is the id attribute.
      const groupId = rdnValue(dn, schema.groupId) ?? (await lookups.groupIdOf(dn));
      if (groupId === undefined) continue;
      const key = groupId.toLowerCase();
      const privileged = context.privileged.has(groupId);
      const tally = tallies.get(key) ?? {
        groupId,
        added: 0,
        removed: 0,
        firstSlot: slots.length,
        time,
        reqStart,
        ...(by ? { by } : {}),
      };
      tallies.set(key, tally);
      for (const mod of memberMods) {
        const direction =
          mod.op === 'delete' ? 'removed' : mod.op === 'add' || mod.op === 'replace' ? 'added' : undefined;
        if (!direction) continue;
        // A replace without old values cannot be diffed; report its values as added (accesslog logs no reqOld for groups).
        for (const memberDN of mod.values) {
          const userId = await lookups.userIdOf(memberDN);
          if (userId === undefined) {
            const nested = privileged ? await lookups.groupIdOf(memberDN) : undefined;
            if (nested !== undefined) {
              for await (const user of lookups.usersOfGroup(nested)) {
                push(privilegeEvent(direction, user.id, groupId, id('privilege', direction, user.id), time, by));
              }
            }
            continue;
          }
          tally[direction]++;
          const data = { groupId, userId, ...(privileged ? { privileged: true } : {}), ...(by ? { by } : {}) };
          const facts = { id: id('member', direction, userId), time, subject: subjectOf(userId, undefined) };
          push(
            ldapEvent(
              context,
              direction === 'added' ? 'idrelay.group.member.added' : 'idrelay.group.member.removed',
              data,
              facts,
            ),
            key,
          );
          if (privileged)
            push(privilegeEvent(direction, userId, groupId, id('privilege', direction, userId), time, by));
        }
      }
      continue;
    }

    if (!inUsers) continue;
    if (type === 'add') {
      if (!addedClasses.includes(schema.userObjectClass.toLowerCase())) continue;
      const valuesOf = (ldap: string) => applyMods([], modsOf(ldap));
      const userId = valuesOf(schema.id)[0] ?? idFromDN(dn, schema);
      const attributes: Record<string, string | string[]> = {};
      for (const [logical, ldap] of Object.entries(schema.attributes)) {
        const found = valuesOf(ldap);
        if (found.length > 0) attributes[logical] = found.length === 1 ? found[0]! : found;
      }
      const displayName = valuesOf(schema.displayName)[0];
      const manager = valuesOf(schema.manager)[0];
      push(
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
          { id: id('created'), time, subject: subjectOf(userId, valuesOf(schema.email)[0]) },
        ),
      );
      continue;
    }
    if (type === 'delete') {
      // Without reqOld (logold does not cover the entry) only an id-typed RDN says it was a person.
      const isPerson =
        oldClasses.length > 0
          ? oldClasses.includes(schema.userObjectClass.toLowerCase())
          : rdnValue(dn, schema.id) !== undefined;
      if (!isPerson) continue;
      const userId = old.get(schema.id.toLowerCase())?.[0] ?? idFromDN(dn, schema);
      const email = old.get(schema.email.toLowerCase())?.[0];
      push(
        ldapEvent(
          context,
          'idrelay.user.deleted',
          { userId, ...(by ? { by } : {}) },
          { id: id('deleted'), time, subject: subjectOf(userId, email) },
        ),
      );
      continue;
    }
    if (type !== 'modify') continue;
    const userId = old.get(schema.id.toLowerCase())?.[0] ?? (await lookups.userIdOf(dn));
    if (userId === undefined) continue;
    const subject = subjectOf(
      userId,
      old.get(schema.email.toLowerCase())?.[0] ?? applyMods([], modsOf(schema.email))[0],
    );
    const changes: { attribute: string; oldValue: string | string[] | null; newValue: string | string[] | null }[] = [];
    for (const attribute of tracked) {
      const attrMods = modsOf(attribute.ldap);
      if (attrMods.length === 0) continue;
      const before = old.get(attribute.ldap.toLowerCase()) ?? [];
      const after = applyMods(before, attrMods);
      if (before.length === after.length && before.every((v, i) => v === after[i])) continue;
      const shown = (list: string[]) => single(attribute.dn ? list.map((v) => idFromDN(v, schema)) : list);
      changes.push({ attribute: attribute.name, oldValue: shown(before), newValue: shown(after) });
    }
    if (changes.length > 0) {
      push(
        ldapEvent(
          context,
          'idrelay.user.updated',
          { userId, changes: changes.slice(0, 500) },
          { id: id('updated'), time, subject },
        ),
      );
    }
    const lock = lastValue(modsOf('pwdAccountLockedTime'));
    if (lock !== undefined) {
      if (lock === null) {
        push(
          ldapEvent(
            context,
            'idrelay.account.enabled',
            { userId, ...(by ? { by } : {}) },
            { id: id('enabled'), time, subject },
          ),
        );
      } else {
        // ppolicy logs its own lockout as a modify that also adds the failed bind's pwdFailureTime.
        const failures = modsOf('pwdFailureTime').filter((m) => m.op === 'add');
        if (failures.length > 0) {
          const count = applyMods(old.get('pwdfailuretime') ?? [], failures).length;
          push(lockedEvent(context, userId, lock, 'failed-logins', time, subject, count));
        } else push(lockedEvent(context, userId, lock, 'administrator', time, subject));
      }
    }
    const reset = lastValue(modsOf('pwdReset'));
    if (typeof reset === 'string' && reset.toUpperCase() === 'TRUE') {
      push(
        ldapEvent(
          context,
          'idrelay.account.password.reset-required',
          { userId, reason: 'administrator' },
          { id: id('reset-required'), time, subject },
        ),
      );
    }
  }

  const bulky = new Set<string>();
  for (const [key, tally] of tallies) if (tally.added + tally.removed > scope.bulkThreshold) bulky.add(key);
  if (bulky.size === 0) return slots.map((slot) => slot.event);
  const out: IdentityEvent[] = [];
  const firstSlots = new Map([...bulky].map((key) => [tallies.get(key)!.firstSlot, tallies.get(key)!]));
  slots.forEach((slot, index) => {
    const tally = firstSlots.get(index);
    if (tally) out.push(bulkEvent(context, tally));
    if (slot.groupKey === undefined || !bulky.has(slot.groupKey)) out.push(slot.event);
  });
  for (const [index, tally] of firstSlots) if (index >= slots.length) out.push(bulkEvent(context, tally));
  return out;

  function privilegeEvent(
    direction: 'added' | 'removed',
    userId: string,
    groupId: string,
    eventId: string,
    time: number,
    by: { id: string; type: 'user' } | undefined,
  ): IdentityEvent {
    const privilege = { id: groupId, kind: 'group' as const, system: 'ldap' };
    const facts = { id: eventId, time, subject: subjectOf(userId, undefined) };
    return direction === 'added'
      ? ldapEvent(
          context,
          'idrelay.privilege.assigned',
          { userId, privilege, ...(by ? { assignedBy: by } : {}) },
          facts,
        )
      : ldapEvent(context, 'idrelay.privilege.revoked', { userId, privilege, ...(by ? { revokedBy: by } : {}) }, facts);
  }
}

function bulkEvent(context: EventContext, tally: GroupTally): IdentityEvent {
  const privileged = context.privileged.has(tally.groupId);
  return ldapEvent(
    context,
    'idrelay.group.bulk-changed',
    {
      groupId: tally.groupId,
      added: tally.added,
      removed: tally.removed,
      ...(privileged ? { privileged: true } : {}),
      ...(tally.by ? { by: tally.by } : {}),
    },
    { id: changeId(tally.reqStart, 'bulk', tally.groupId.toLowerCase()), time: tally.time },
  );
}

/** The `account.locked` event of a lock time; its id depends only on user and lock time, whichever path saw it. */
export function lockedEvent(
  context: EventContext,
  userId: string,
  lockTime: string,
  reason: 'administrator' | 'failed-logins',
  time: number,
  subject: ReturnType<typeof subjectOf>,
  failedAttempts?: number,
): IdentityEvent {
  return ldapEvent(
    context,
    'idrelay.account.locked',
    { userId, reason, ...(failedAttempts !== undefined ? { failedAttempts } : {}) },
    { id: changeId('locked', userId, lockTime), time, subject },
  );
}

/** The value an attribute ends with after its modifications: a string, `null` when removed, undefined when untouched. */
function lastValue(mods: readonly Modification[]): string | null | undefined {
  if (mods.length === 0) return undefined;
  const after = applyMods(['\u0000'], mods).filter((v) => v !== '\u0000');
  return after.length === 0 ? null : after[after.length - 1]!;
}

function safeUnder(dn: string, base: string): boolean {
  try {
    return isUnder(dn, base);
  } catch {
    return false;
  }
}
