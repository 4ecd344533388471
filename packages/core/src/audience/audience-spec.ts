import { z } from 'zod';
import { type SubjectIdentifier, SubjectIdentifierSchema } from '../subjects/subject-identifier.js';

const id = z.string().min(1).max(512);

/** A directory attribute filter: every key must match; an array value matches any of its members. */
export const AttributeFilterSchema = z
  .record(z.string().min(1).max(128), z.union([z.string(), z.array(z.string()).min(1)]))
  .refine((filter) => Object.keys(filter).length > 0, 'an attribute filter needs at least one attribute');

/**
 * Who a notification goes to, before preferences. Resolved by a {@link Directory} into a stream of users; never
 * materialised whole, so an audience of 100,000 users costs the memory of one page.
 */
export type AudienceSpec =
  /** Named users, by directory user id. */
  | { kind: 'users'; userIds: string[] }
  /** Users found by RFC 9493 subject identifier (email, iss_sub, aliases …). */
  | { kind: 'subjects'; subjects: SubjectIdentifier[] }
  /** Members of a group; `nested` (default true) follows groups inside the group. */
  | { kind: 'group'; groupId: string; nested?: boolean }
  /** Users whose directory attributes match every entry (department, location, role, business unit …). */
  | { kind: 'attributes'; filter: Record<string, string | string[]> }
  /** The manager of a user. */
  | { kind: 'manager-of'; userId: string }
  /** The approvers the directory names for a resource or role (owners, approver groups). */
  | { kind: 'approvers-of'; resourceId: string }
  /** The union of several audiences; a user in more than one is delivered to once. */
  | { kind: 'any-of'; audiences: AudienceSpec[] };

/** zod schema of {@link AudienceSpec}, used where audiences arrive in events or configuration. */
export const AudienceSpecSchema: z.ZodType<AudienceSpec> = z.lazy(() =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('users'), userIds: z.array(id).min(1).max(10_000) }),
    z.object({ kind: z.literal('subjects'), subjects: z.array(SubjectIdentifierSchema).min(1).max(10_000) }),
    z.object({ kind: z.literal('group'), groupId: id, nested: z.boolean().optional() }),
    z.object({ kind: z.literal('attributes'), filter: AttributeFilterSchema }),
    z.object({ kind: z.literal('manager-of'), userId: id }),
    z.object({ kind: z.literal('approvers-of'), resourceId: id }),
    z.object({ kind: z.literal('any-of'), audiences: z.array(AudienceSpecSchema).min(1).max(64) }),
  ]),
);
