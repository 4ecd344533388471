import { createHash } from 'node:crypto';
import type { EventDataInputMap, EventType, IdentityEvent, SubjectIdentifier } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import type { GroupState, Snapshot, UserState } from './snapshot.js';

/** What {@link diffEvents} needs besides the two snapshots. */
export interface DiffContext {
  /** CloudEvents `source` of every event. */
  source: string;
  now: () => Date;
  /** Groups whose membership changes also emit `privilege.assigned` / `privilege.revoked`. */
  privilegedGroups: ReadonlySet<string>;
  /** More membership changes than this in one group in one poll become one `group.bulk-changed`. */
  bulkThreshold: number;
  /** The e-mail of a user, for the events' `idrelaysubject`. */
  emailOf: (state: UserState) => string | undefined;
  /**
   * Called for a change whose event fails the catalogue's limits (an id over 512 characters, a 5,000-character
   * attribute value): the change is skipped rather than blocking every later poll.
   */
  onInvalid: (type: string, key: string, error: unknown) => void;
}

type Value = string | string[] | null;

function eventValue(values: readonly string[] | undefined): Value {
  if (values === undefined || values.length === 0) return null;
  return values.length === 1 ? (values[0] as string) : [...values];
}

function same(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const left = a ?? [];
  const right = b ?? [];
  return left.length === right.length && left.every((value, index) => value === right[index]);
}

/**
 * An event id that is the same every time the same transition is seen, so a poll repeated after a crash (from the
 * checkpoint before it) produces the same ids and the relay's ingest dedupes them.
 */
function eventId(source: string, type: string, key: string, before: unknown, after: unknown): string {
  const hex = createHash('sha256')
    .update(JSON.stringify([source, type, key, before ?? null, after ?? null]))
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The events that take the directory from `before` to `after`: `user.created`, `user.updated` with one change per
 * tracked attribute, `user.deleted`, `account.disabled` / `account.locked` / `account.enabled`,
 * `account.password.reset-required`, `group.member.added` / `removed` (with `privilege.assigned` / `revoked` for
 * privileged groups) or one `group.bulk-changed` for a group past the threshold.
 */
export function diffEvents(before: Snapshot, after: Snapshot, context: DiffContext): IdentityEvent[] {
  const events: IdentityEvent[] = [];
  const subjectOf = (userId: string, state: UserState | undefined): SubjectIdentifier => {
    const email = state === undefined ? undefined : context.emailOf(state);
    // A malformed address would make the whole event invalid; the user id still names the person.
    const usable = email !== undefined && email.length <= 320 && /^[^\s@]+@[^\s@]+$/.test(email);
    return usable ? { format: 'email', email } : { format: 'opaque', id: userId };
  };
  const emit = <T extends EventType>(
    type: T,
    data: EventDataInputMap[T],
    key: string,
    from: unknown,
    to: unknown,
    subject: SubjectIdentifier,
  ) => {
    try {
      const event = createEvent<T>(type, data, {
        source: context.source,
        id: eventId(context.source, type, key, from, to),
        now: context.now,
        idrelaysubject: subject,
      });
      events.push(event as unknown as IdentityEvent);
    } catch (error) {
      context.onInvalid(type, key, error);
    }
  };

  for (const [id, now] of after.users) {
    const was = before.users.get(id);
    const subject = subjectOf(id, now);
    if (was === undefined) {
      const attributes: Record<string, string | string[]> = {};
      for (const [name, values] of Object.entries(now.a)) attributes[name] = eventValue(values) ?? [];
      const displayName = now.a.displayName?.[0];
      const managerId = now.a.manager?.[0];
      emit(
        'idrelay.user.created',
        {
          userId: id,
          userName: now.n,
          ...(displayName ? { displayName } : {}),
          ...(managerId ? { managerId } : {}),
          attributes,
        },
        id,
        null,
        now,
        subject,
      );
      if (now.d) emit('idrelay.account.disabled', { userId: id }, id, null, now, subject);
      continue;
    }
    const names = new Set([...Object.keys(was.a), ...Object.keys(now.a)]);
    const changes = [...names]
      .sort()
      .filter((name) => !same(was.a[name], now.a[name]))
      .map((name) => ({ attribute: name, oldValue: eventValue(was.a[name]), newValue: eventValue(now.a[name]) }));
    if (was.n !== now.n) changes.unshift({ attribute: 'userName', oldValue: was.n, newValue: now.n });
    if (changes.length > 0) emit('idrelay.user.updated', { userId: id, changes }, id, was, now, subject);
    if (!was.d && now.d) emit('idrelay.account.disabled', { userId: id }, id, was, now, subject);
    if (!was.l && now.l) emit('idrelay.account.locked', { userId: id, reason: 'other' }, id, was, now, subject);
    const wasBlocked = Boolean(was.d || was.l);
    const isBlocked = Boolean(now.d || now.l);
    if (wasBlocked && !isBlocked) emit('idrelay.account.enabled', { userId: id }, id, was, now, subject);
    if (!was.p && now.p) emit('idrelay.account.password.reset-required', { userId: id }, id, was, now, subject);
  }
  for (const [id, was] of before.users) {
    if (!after.users.has(id)) emit('idrelay.user.deleted', { userId: id }, id, was, null, subjectOf(id, was));
  }

  const groupIds = new Set([...before.groups.keys(), ...after.groups.keys()]);
  for (const groupId of groupIds) {
    const was: GroupState = before.groups.get(groupId) ?? { n: groupId, m: [] };
    const now: GroupState = after.groups.get(groupId) ?? { n: was.n, m: [] };
    const old = new Set(was.m);
    const fresh = new Set(now.m);
    // A deleted user's memberships end with it; user.deleted already says so.
    const added = now.m.filter((userId) => !old.has(userId));
    const removed = was.m.filter((userId) => !fresh.has(userId) && after.users.has(userId));
    if (added.length === 0 && removed.length === 0) continue;
    const privileged = context.privilegedGroups.has(groupId);
    const group = { groupId, groupName: now.n, ...(privileged ? { privileged: true } : {}) };
    if (added.length + removed.length > context.bulkThreshold) {
      emit(
        'idrelay.group.bulk-changed',
        { ...group, added: added.length, removed: removed.length },
        groupId,
        was,
        now,
        { format: 'opaque', id: groupId },
      );
      continue;
    }
    const privilege = { id: groupId, name: now.n, kind: 'group' as const, system: 'OTDS' };
    for (const userId of added) {
      const subject = subjectOf(userId, after.users.get(userId));
      const key = `${groupId}\n${userId}`;
      emit('idrelay.group.member.added', { ...group, userId }, key, false, true, subject);
      if (privileged) emit('idrelay.privilege.assigned', { userId, privilege }, key, false, true, subject);
    }
    for (const userId of removed) {
      const subject = subjectOf(userId, after.users.get(userId));
      const key = `${groupId}\n${userId}`;
      emit('idrelay.group.member.removed', { ...group, userId }, key, true, false, subject);
      if (privileged) emit('idrelay.privilege.revoked', { userId, privilege }, key, true, false, subject);
    }
  }
  return events;
}
