import { createHash } from 'node:crypto';
import type { EventDataInputMap, EventType, SubjectIdentifier } from '@idrelay/core';
import { createEvent, type IdentityEvent } from '@idrelay/core/events';
import { rdnValue } from '../directory/user-entry.js';
import { parseDN } from '../ldap/escape.js';
import type { LdapSchema } from '../ldap/schema.js';

/** What every change-to-event step needs. */
export interface EventContext {
  source: string;
  schema: LdapSchema;
  privileged: ReadonlySet<string>;
}

/**
 * A deterministic event id from the facts that identify a change, so reading the same change twice (a crash
 * before the checkpoint was stored) yields the same id and the relay's ingest drops the copy.
 */
export function changeId(...parts: string[]): string {
  return `ldap-${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 32)}`;
}

/** Builds one catalogue event with a deterministic id. */
export function ldapEvent<T extends EventType>(
  context: EventContext,
  type: T,
  data: EventDataInputMap[T],
  facts: { id: string; time: number; subject?: SubjectIdentifier },
): IdentityEvent {
  return createEvent<T>(type, data, {
    source: context.source,
    id: facts.id,
    time: new Date(facts.time),
    ...(facts.subject ? { idrelaysubject: facts.subject } : {}),
  }) as unknown as IdentityEvent;
}

/** An actor from a bind DN (`reqAuthzID`): its id-attribute RDN value when it has one, else the DN. */
export function actorOf(authzId: string | undefined, schema: LdapSchema): { id: string; type: 'user' } | undefined {
  if (!authzId) return undefined;
  const dn = authzId.startsWith('dn:') ? authzId.slice(3) : authzId;
  if (dn === '') return undefined;
  return { id: (rdnValue(dn, schema.id) ?? dn).slice(0, 512), type: 'user' };
}

/** The subject of a user event: their first email address, else their id as an opaque identifier. */
export function subjectOf(userId: string, email: string | undefined): SubjectIdentifier {
  return email && /^[^\s@]+@[^\s@]+$/.test(email) && email.length <= 320
    ? { format: 'email', email }
    : { format: 'opaque', id: userId };
}

/** A manager or member DN as an id when its RDN is the id attribute; otherwise the DN. */
export function idFromDN(dn: string, schema: LdapSchema): string {
  return rdnValue(dn, schema.id) ?? dn;
}

/** The value of the first RDN of a DN, whatever its type. */
export function firstRdnValue(dn: string): string | undefined {
  try {
    return parseDN(dn)[0]?.[0]?.value;
  } catch {
    return undefined;
  }
}
