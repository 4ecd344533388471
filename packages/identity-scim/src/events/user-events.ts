import type { SubjectIdentifier } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createEvent } from '@idrelay/core/events';
import { type ScimUser, STRING_ATTRIBUTES } from '../users/scim-user.js';

/** What a SCIM change means to the relay: the lifecycle events of RFC-agnostic idrelay vocabulary. */

interface EventContext {
  source: string;
  now: () => Date;
}

function subjectOf(user: ScimUser): SubjectIdentifier {
  const email = user.emails.find((entry) => entry.primary) ?? user.emails[0];
  return email !== undefined ? { format: 'email', email: email.value } : { format: 'opaque', id: user.userName };
}

const TRACKED = [...STRING_ATTRIBUTES, 'locale', 'timezone', 'managerId'] as const;

function emailsOf(user: ScimUser): string[] {
  return user.emails.map((email) => email.value);
}

/** The events of a created user: `user.created`, then `user.deactivated` when it arrives inactive. */
export function createdEvents(id: string, user: ScimUser, context: EventContext): IdentityEvent[] {
  const options = { source: context.source, now: context.now, idrelaysubject: subjectOf(user) };
  const data: { userId: string; userName: string; displayName?: string; managerId?: string } = {
    userId: id,
    userName: user.userName,
  };
  if (user.displayName !== undefined) data.displayName = user.displayName;
  if (user.managerId !== undefined) data.managerId = user.managerId;
  const events: IdentityEvent[] = [createEvent('idrelay.user.created', data, options)];
  if (!user.active) events.push(createEvent('idrelay.user.deactivated', { userId: id }, options));
  return events;
}

/**
 * The events of a replaced user: `user.updated` with one change per attribute that differs (a department or
 * manager change makes it a mover), then `user.activated` or `user.deactivated` when `active` flipped.
 */
export function updatedEvents(id: string, before: ScimUser, after: ScimUser, context: EventContext): IdentityEvent[] {
  const options = { source: context.source, now: context.now, idrelaysubject: subjectOf(after) };
  const changes: { attribute: string; oldValue: string | string[] | null; newValue: string | string[] | null }[] = [];
  for (const name of TRACKED) {
    const oldValue = before[name] ?? null;
    const newValue = after[name] ?? null;
    if (oldValue !== newValue) changes.push({ attribute: name, oldValue, newValue });
  }
  const oldEmails = emailsOf(before);
  const newEmails = emailsOf(after);
  if (oldEmails.join('\n') !== newEmails.join('\n')) {
    changes.push({ attribute: 'emails', oldValue: oldEmails, newValue: newEmails });
  }
  const events: IdentityEvent[] = [];
  if (changes.length > 0) events.push(createEvent('idrelay.user.updated', { userId: id, changes }, options));
  if (before.active && !after.active) events.push(createEvent('idrelay.user.deactivated', { userId: id }, options));
  if (!before.active && after.active) events.push(createEvent('idrelay.user.activated', { userId: id }, options));
  return events;
}

/** The event of a deleted user. */
export function deletedEvents(id: string, user: ScimUser, context: EventContext): IdentityEvent[] {
  return [
    createEvent(
      'idrelay.user.deleted',
      { userId: id },
      { source: context.source, now: context.now, idrelaysubject: subjectOf(user) },
    ),
  ];
}
