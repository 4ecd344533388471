import type { SubjectIdentifier } from '@idrelay/core';
import type { IdentityEvent } from '@idrelay/core/events';
import { createEvent } from '@idrelay/core/events';
import { type ScimUser, type Scope, STRING_ATTRIBUTES } from '../users/scim-user.js';

/** What a SCIM change means to the relay: the lifecycle events of RFC-agnostic idrelay vocabulary. */

interface EventContext {
  source: string;
  now: () => Date;
  /** The tenant: its id goes into each event's data, its prefix makes SCIM ids directory ids. */
  scope: Scope;
}

/** `userId` (the directory id) and, with tenants, `tenant`. */
function who(id: string, context: EventContext): { userId: string; tenant?: string } {
  const data: { userId: string; tenant?: string } = { userId: context.scope.prefix + id };
  if (context.scope.tenant !== undefined) data.tenant = context.scope.tenant;
  return data;
}

/** `active` flipping: the lifecycle event and the account event beside it. */
function activity(id: string, before: boolean | undefined, after: boolean, context: EventContext, options: object) {
  const events: IdentityEvent[] = [];
  const base = { source: context.source, now: context.now, ...options };
  if (before !== false && !after) {
    events.push(createEvent('idrelay.user.deactivated', who(id, context), base));
    events.push(createEvent('idrelay.account.disabled', { ...who(id, context), reason: 'SCIM active=false' }, base));
  }
  if (before === false && after) {
    events.push(createEvent('idrelay.user.activated', who(id, context), base));
    events.push(createEvent('idrelay.account.enabled', who(id, context), base));
  }
  return events;
}

function subjectOf(user: ScimUser): SubjectIdentifier {
  const email = user.emails.find((entry) => entry.primary) ?? user.emails[0];
  return email !== undefined ? { format: 'email', email: email.value } : { format: 'opaque', id: user.userName };
}

const TRACKED = [...STRING_ATTRIBUTES, 'locale', 'timezone', 'managerId'] as const;

function emailsOf(user: ScimUser): string[] {
  return user.emails.map((email) => email.value);
}

/**
 * The events of a created user: `user.created`, then `user.deactivated` and `account.disabled` when it arrives
 * inactive. `id` is the SCIM id; events carry the directory id.
 */
export function createdEvents(id: string, user: ScimUser, context: EventContext): IdentityEvent[] {
  const options = { source: context.source, now: context.now, idrelaysubject: subjectOf(user) };
  const data: { userId: string; tenant?: string; userName: string; displayName?: string; managerId?: string } = {
    ...who(id, context),
    userName: user.userName,
  };
  if (user.displayName !== undefined) data.displayName = user.displayName;
  if (user.managerId !== undefined) data.managerId = context.scope.prefix + user.managerId;
  const events: IdentityEvent[] = [createEvent('idrelay.user.created', data, options)];
  events.push(...activity(id, undefined, user.active, context, { idrelaysubject: subjectOf(user) }));
  return events;
}

/**
 * The events of a replaced user: `user.updated` with one change per attribute that differs (a department or
 * manager change makes it a mover), then `user.activated` + `account.enabled` or `user.deactivated` +
 * `account.disabled` when `active` flipped.
 */
export function updatedEvents(id: string, before: ScimUser, after: ScimUser, context: EventContext): IdentityEvent[] {
  const options = { source: context.source, now: context.now, idrelaysubject: subjectOf(after) };
  const changes: { attribute: string; oldValue: string | string[] | null; newValue: string | string[] | null }[] = [];
  const prefix = (name: string, value: string | null) =>
    name === 'managerId' && value !== null ? context.scope.prefix + value : value;
  for (const name of TRACKED) {
    const oldValue = prefix(name, before[name] ?? null);
    const newValue = prefix(name, after[name] ?? null);
    if (oldValue !== newValue) changes.push({ attribute: name, oldValue, newValue });
  }
  const oldEmails = emailsOf(before);
  const newEmails = emailsOf(after);
  if (oldEmails.join('\n') !== newEmails.join('\n')) {
    changes.push({ attribute: 'emails', oldValue: oldEmails, newValue: newEmails });
  }
  const events: IdentityEvent[] = [];
  if (changes.length > 0) events.push(createEvent('idrelay.user.updated', { ...who(id, context), changes }, options));
  events.push(...activity(id, before.active, after.active, context, { idrelaysubject: subjectOf(after) }));
  return events;
}

/** The event of a deleted user. */
export function deletedEvents(id: string, user: ScimUser, context: EventContext): IdentityEvent[] {
  return [
    createEvent('idrelay.user.deleted', who(id, context), {
      source: context.source,
      now: context.now,
      idrelaysubject: subjectOf(user),
    }),
  ];
}
