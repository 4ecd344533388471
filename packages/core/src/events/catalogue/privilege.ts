import { z } from 'zod';
import { Actor, Id, LongText, Privilege, Text, Timestamp } from './shared.js';

/** `idrelay.privilege.assigned` — a user was given a privileged role, group or entitlement. */
export const PrivilegeAssigned = z.looseObject({
  userId: Id,
  privilege: Privilege,
  assignedBy: Actor.optional(),
  until: Timestamp.optional(),
});

/** `idrelay.privilege.elevated` — a user elevated to a privilege for a limited time (just-in-time access). */
export const PrivilegeElevated = z.looseObject({
  userId: Id,
  privilege: Privilege,
  elevatedBy: Actor.optional(),
  reason: LongText.optional(),
  until: Timestamp,
});

/** `idrelay.privilege.used` — a privilege was exercised (break-glass, admin console action). */
export const PrivilegeUsed = z.looseObject({
  userId: Id,
  privilege: Privilege,
  action: Text,
  target: Text.optional(),
  usedAt: Timestamp,
});

/** `idrelay.privilege.revoked` — a privilege was taken away, by someone or by expiry. */
export const PrivilegeRevoked = z.looseObject({
  userId: Id,
  privilege: Privilege,
  revokedBy: Actor.optional(),
  reason: LongText.optional(),
});
