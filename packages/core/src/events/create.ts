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
  /**
   * The RFC 9493 identifier of the person concerned. It travels in the `idrelaysubject` extension attribute as
   * base64url JSON (CloudEvents allows only primitive attribute values); read it back with `eventSubject(event)`.
   */
  idrelaysubject?: SubjectIdentifier;
  /** More extension attributes: lower-case names, String, Integer (32-bit) or Boolean values. */
  extensions?: ExtensionAttributes;
  /** Clock for `time`, for tests. */
  now?: () => Date;
}

/**
 * Builds a validated identity event of `type`, filling `specversion`, `id`, `time` and `datacontenttype`, and
 * encoding `idrelaysubject`. Every attribute of the result is a CloudEvents type, so it survives structured and
 * binary mode over any protocol binding.
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
  // The envelope schema encodes the object, and reports a bad identifier as ERR_EVENT_INVALID with its path.
  if (options.idrelaysubject !== undefined) envelope.idrelaysubject = options.idrelaysubject;
  return parseEvent(envelope) as IdentityEvent<T>;
}

/** Serialises an event to its CloudEvents JSON form (structured content mode). {@link parseEvent} reverses it. */
export function serializeEvent(event: IdentityEvent): string {
  return JSON.stringify(event);
}
