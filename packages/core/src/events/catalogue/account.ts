import { z } from 'zod';
import { Actor, Id, LongText, Timestamp } from './shared.js';

/** `idrelay.account.locked` — an account was locked (failed logins, an administrator, a risk policy). */
export const AccountLocked = z.looseObject({
  userId: Id,
  reason: z.enum(['failed-logins', 'administrator', 'risk', 'policy', 'other']),
  failedAttempts: z.int().min(0).optional(),
  lockedUntil: Timestamp.optional(),
});

/** `idrelay.account.disabled` — an account was disabled (SCIM `active=false`, RISC `account-disabled`). */
export const AccountDisabled = z.looseObject({ userId: Id, by: Actor.optional(), reason: LongText.optional() });

/** `idrelay.account.enabled` — a disabled or locked account was enabled again. */
export const AccountEnabled = z.looseObject({ userId: Id, by: Actor.optional() });

/** `idrelay.account.password.reset-required` — the user must change their password at next sign-in or by a date. */
export const AccountPasswordResetRequired = z.looseObject({
  userId: Id,
  reason: z.enum(['administrator', 'compromise', 'policy', 'other']).optional(),
  dueBy: Timestamp.optional(),
});

/** `idrelay.account.password.expiring` — the password expires soon. */
export const AccountPasswordExpiring = z.looseObject({
  userId: Id,
  expiresAt: Timestamp,
  daysLeft: z.int().min(0).max(3650),
});
