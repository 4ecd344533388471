import type { AudienceSpec } from '../audience/audience-spec.js';
import type { SubjectIdentifier } from '../subjects/subject-identifier.js';

/** A user as a directory knows them: enough to target, localise and schedule a notification. */
export interface DirectoryUser {
  /** The directory's stable id (LDAP entryUUID, SCIM id, OTDS id). */
  id: string;
  displayName?: string;
  /** RFC 9493 identifiers this user is known by (email, iss_sub …), for matching events to users. */
  subjects?: SubjectIdentifier[];
  /** BCP 47 language tag for templates, e.g. `de-CH`. */
  locale?: string;
  /** IANA time zone for quiet hours, e.g. `Europe/Zurich`. */
  timeZone?: string;
  managerId?: string;
  /** Attributes used by audience filters and templates (department, location, role, businessUnit …). */
  attributes: Readonly<Record<string, string | readonly string[]>>;
}

/** A directory group. */
export interface DirectoryGroup {
  id: string;
  name?: string;
  /** Groups that carry privilege (admins, production access). */
  privileged?: boolean;
}

/** Options of streaming calls. */
export interface DirectoryStreamOptions {
  signal?: AbortSignal;
  /** Hint for paged sources (LDAP paged results, SCIM `count`). */
  pageSize?: number;
}

/**
 * Where people, groups and their attributes live (LDAP, OTDS, SCIM, an in-memory map in tests).
 *
 * Audiences resolve to an async stream, never an array, so a 100,000-user announcement costs one page of memory.
 * Implementations pass `directoryContract()` from `@idrelay/testkit`.
 */
export interface Directory {
  /** A name for logs, e.g. `ldap:ou=people,dc=example,dc=com`. */
  readonly name: string;
  getUser(id: string): Promise<DirectoryUser | undefined>;
  /** Finds the user an event's subject identifier names; `aliases` match when any member matches. */
  findBySubject(subject: SubjectIdentifier): Promise<DirectoryUser | undefined>;
  /**
   * Streams the users of an audience, each once. `group` follows nested groups unless `nested: false`;
   * `attributes` matches every key (arrays match any member); `any-of` is a union without duplicates.
   */
  resolve(audience: AudienceSpec, options?: DirectoryStreamOptions): AsyncIterable<DirectoryUser>;
  /** The groups a user is in, directly or (with `nested`) through other groups. */
  groupsOf(userId: string, options?: DirectoryStreamOptions & { nested?: boolean }): AsyncIterable<DirectoryGroup>;
  /** Optional: frees connections. */
  close?(): Promise<void>;
}
