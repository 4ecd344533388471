import { z } from 'zod';
import { Actor, Id, LongText, Text, Timestamp } from './shared.js';

/** Directory attributes of a user as the source knows them; values are strings or lists of strings. */
const Attributes = z.record(z.string().min(1).max(128), z.union([z.string().max(4096), z.array(z.string().max(4096))]));

/** `idrelay.user.created` — a joiner: a user was created (SCIM POST, LDAP add, HR-driven IAM). */
export const UserCreated = z.looseObject({
  userId: Id,
  userName: Text,
  displayName: Text.optional(),
  managerId: Id.optional(),
  startDate: Timestamp.optional(),
  attributes: Attributes.optional(),
});

/** `idrelay.user.activated` — a created user became active (first day, account enabled for use). */
export const UserActivated = z.looseObject({ userId: Id, activatedAt: Timestamp.optional() });

/** `idrelay.user.updated` — a mover: attributes changed (department, manager, location …). */
export const UserUpdated = z.looseObject({
  userId: Id,
  changes: z
    .array(
      z.looseObject({
        attribute: z.string().min(1).max(128),
        oldValue: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
        newValue: z.union([z.string(), z.array(z.string()), z.null()]).optional(),
      }),
    )
    .min(1)
    .max(500),
});

/** `idrelay.user.deactivated` — a leaver, or a suspension: the user can no longer sign in. */
export const UserDeactivated = z.looseObject({ userId: Id, reason: LongText.optional(), by: Actor.optional() });

/** `idrelay.user.deleted` — the user was removed from the directory. */
export const UserDeleted = z.looseObject({ userId: Id, by: Actor.optional() });

const Membership = z.looseObject({
  groupId: Id,
  groupName: Text.optional(),
  userId: Id,
  /** True when the group grants privilege (admins, production access); the default rules alert security. */
  privileged: z.boolean().optional(),
  by: Actor.optional(),
});

/** `idrelay.group.member.added` — a user joined a group. */
export const GroupMemberAdded = Membership;

/** `idrelay.group.member.removed` — a user left a group. */
export const GroupMemberRemoved = Membership;

/** `idrelay.group.bulk-changed` — many memberships of one group changed at once (a sync, a reorganisation). */
export const GroupBulkChanged = z.looseObject({
  groupId: Id,
  groupName: Text.optional(),
  added: z.int().min(0),
  removed: z.int().min(0),
  privileged: z.boolean().optional(),
  by: Actor.optional(),
});
