import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { IdrelayError } from '../errors/idrelay-error.js';
import type { SubjectIdentifier } from '../subjects/subject-identifier.js';
import { type EVENT_CATALOGUE, type EventDataInputMap, type EventType, isEventType } from './catalogue/index.js';
import type { ExtensionAttributes, IdentityEvent } from './envelope.js';
import { parseEvent } from './parse.js';

/** Options of {@link createEvent}. */
export interface CreateEventOptions {
  /** The producer, a URI-reference such as `https://iam.example.com` or `/connectors/scim`. */
  source: string;
  /** Event id; a random UUID when absent. Producers that retry must reuse the id so the relay dedupes. */
  id?: string;
  /** Event time; now when absent. */
  time?: Date | string;
  /** The CloudEvents `subject`. */
  subject?: string;
  /** The RFC 9493 identifier of the person concerned (the `idrelaysubject` extension). */
  idrelaysubject?: SubjectIdentifier;
  /** More extension attributes. */
  extensions?: ExtensionAttributes;
  /** Clock for `time`, for tests. */
  now?: () => Date;
}

/**
 * Builds a validated identity event of `type`, filling `specversion`, `id`, `time` and `datacontenttype`.
 *
 * @throws {IdrelayError} `ERR_EVENT_TYPE_UNKNOWN` for a type outside the catalogue, `ERR_EVENT_INVALID` when
 * `data` or an option fails validation.
 * @example
 * ```ts
 * const event = createEvent('idrelay.account.locked', { userId: 'u-42', reason: 'failed-logins' }, {
 *   source: 'https://idp.example.com',
 *   idrelaysubject: { format: 'email', email: 'alice@example.com' },
 * });
 * ```
 */
export function createEvent<T extends EventType>(
  type: T,
  data: EventDataInputMap[T],
  options: CreateEventOptions,
): IdentityEvent<T> {
  if (!isEventType(type)) {
    throw new IdrelayError('ERR_EVENT_TYPE_UNKNOWN', `Unknown event type "${String(type)}"`, {
      details: { type: String(type) },
    });
  }
  const time = options.time ?? (options.now ?? (() => new Date()))();
  const envelope: Record<string, unknown> = {
    ...options.extensions,
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type,
    time: typeof time === 'string' ? time : time.toISOString(),
    datacontenttype: 'application/json',
    data: data as z.input<(typeof EVENT_CATALOGUE)[T]['data']>,
  };
  if (options.subject !== undefined) envelope.subject = options.subject;
  if (options.idrelaysubject !== undefined) envelope.idrelaysubject = options.idrelaysubject;
  return parseEvent(envelope) as IdentityEvent<T>;
}

/** Serialises an event to its CloudEvents JSON form (structured content mode). {@link parseEvent} reverses it. */
export function serializeEvent(event: IdentityEvent): string {
  return JSON.stringify(event);
}
