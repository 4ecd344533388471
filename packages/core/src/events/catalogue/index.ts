import type { z } from 'zod';
import * as access from './access.js';
import * as account from './account.js';
import * as announcement from './announcement.js';
import * as auth from './auth.js';
import * as exstream from './exstream.js';
import * as lifecycle from './lifecycle.js';
import * as notification from './notification.js';
import * as onboarding from './onboarding.js';
import * as operations from './operations.js';
import * as policy from './policy.js';
import * as privilege from './privilege.js';

/**
 * The event catalogue: every `type` idrelay knows, with the zod schema of its `data`, its area, and when it is
 * emitted. Types are namespaced `idrelay.<area>.<verb>` (ARCHITECTURE.md, "Event catalogue").
 */
export const EVENT_CATALOGUE = {
  'idrelay.access.requested': {
    area: 'access',
    data: access.AccessRequested,
    summary: 'An access request awaits approvers.',
  },
  'idrelay.access.approved': {
    area: 'access',
    data: access.AccessApproved,
    summary: 'An approver granted an access request.',
  },
  'idrelay.access.denied': {
    area: 'access',
    data: access.AccessDenied,
    summary: 'An approver refused an access request.',
  },
  'idrelay.access.expired': {
    area: 'access',
    data: access.AccessExpired,
    summary: 'An access request lapsed undecided.',
  },
  'idrelay.access.reminder': {
    area: 'access',
    data: access.AccessReminder,
    summary: 'A pending access request is still waiting.',
  },
  'idrelay.auth.verification.requested': {
    area: 'auth',
    data: auth.AuthVerificationRequested,
    summary: 'A sign-in must be confirmed on a device (push MFA, number matching).',
    secrets: ['data.numberMatch.code'],
  },
  'idrelay.auth.verification.approved': {
    area: 'auth',
    data: auth.AuthVerificationApproved,
    summary: 'The user confirmed the sign-in.',
  },
  'idrelay.auth.verification.denied': {
    area: 'auth',
    data: auth.AuthVerificationDenied,
    summary: 'The user refused the sign-in, possibly reporting it.',
  },
  'idrelay.auth.risk.detected': { area: 'auth', data: auth.AuthRiskDetected, summary: 'A risk signal about a user.' },
  'idrelay.privilege.assigned': {
    area: 'privilege',
    data: privilege.PrivilegeAssigned,
    summary: 'A privileged role, group or entitlement was assigned.',
  },
  'idrelay.privilege.elevated': {
    area: 'privilege',
    data: privilege.PrivilegeElevated,
    summary: 'A user elevated to a privilege for a limited time.',
  },
  'idrelay.privilege.used': { area: 'privilege', data: privilege.PrivilegeUsed, summary: 'A privilege was exercised.' },
  'idrelay.privilege.revoked': {
    area: 'privilege',
    data: privilege.PrivilegeRevoked,
    summary: 'A privilege was taken away.',
  },
  'idrelay.account.locked': { area: 'account', data: account.AccountLocked, summary: 'An account was locked.' },
  'idrelay.account.disabled': { area: 'account', data: account.AccountDisabled, summary: 'An account was disabled.' },
  'idrelay.account.enabled': {
    area: 'account',
    data: account.AccountEnabled,
    summary: 'An account was enabled again.',
  },
  'idrelay.account.password.reset-required': {
    area: 'account',
    data: account.AccountPasswordResetRequired,
    summary: 'The user must change their password.',
  },
  'idrelay.account.password.expiring': {
    area: 'account',
    data: account.AccountPasswordExpiring,
    summary: 'The password expires soon.',
  },
  'idrelay.user.created': { area: 'lifecycle', data: lifecycle.UserCreated, summary: 'A user was created (joiner).' },
  'idrelay.user.activated': { area: 'lifecycle', data: lifecycle.UserActivated, summary: 'A user became active.' },
  'idrelay.user.updated': {
    area: 'lifecycle',
    data: lifecycle.UserUpdated,
    summary: 'User attributes changed (mover).',
  },
  'idrelay.user.deactivated': {
    area: 'lifecycle',
    data: lifecycle.UserDeactivated,
    summary: 'A user was deactivated (leaver).',
  },
  'idrelay.user.deleted': { area: 'lifecycle', data: lifecycle.UserDeleted, summary: 'A user was deleted.' },
  'idrelay.group.member.added': {
    area: 'lifecycle',
    data: lifecycle.GroupMemberAdded,
    summary: 'A user joined a group.',
  },
  'idrelay.group.member.removed': {
    area: 'lifecycle',
    data: lifecycle.GroupMemberRemoved,
    summary: 'A user left a group.',
  },
  'idrelay.group.bulk-changed': {
    area: 'lifecycle',
    data: lifecycle.GroupBulkChanged,
    summary: 'Many memberships of a group changed at once.',
  },
  'idrelay.policy.action-required': {
    area: 'policy',
    data: policy.PolicyActionRequired,
    summary: 'The user must recertify, re-authenticate or accept a policy.',
  },
  'idrelay.policy.changed': { area: 'policy', data: policy.PolicyChanged, summary: 'A policy changed.' },
  'idrelay.onboarding.step': {
    area: 'onboarding',
    data: onboarding.OnboardingStep,
    summary: 'A joiner flow reached a step.',
  },
  'idrelay.workflow.failed': {
    area: 'operations',
    data: operations.WorkflowFailed,
    summary: 'An IAM workflow run failed.',
  },
  'idrelay.workflow.stalled': {
    area: 'operations',
    data: operations.WorkflowStalled,
    summary: 'An IAM workflow run stopped making progress.',
  },
  'idrelay.provisioning.failed': {
    area: 'operations',
    data: operations.ProvisioningFailed,
    summary: 'Provisioning to a target system failed.',
  },
  'idrelay.sync.failed': {
    area: 'operations',
    data: operations.SyncFailed,
    summary: 'A connector synchronisation failed.',
  },
  'idrelay.announcement.published': {
    area: 'announcement',
    data: announcement.AnnouncementPublished,
    summary: 'Operators address an audience.',
  },
  'idrelay.notification.delivered': {
    area: 'notification',
    data: notification.NotificationDelivered,
    summary: 'A push service accepted a notification for a device.',
  },
  'idrelay.notification.failed': {
    area: 'notification',
    data: notification.NotificationFailed,
    summary: 'A delivery ended without reaching the device.',
  },
  'idrelay.notification.acknowledged': {
    area: 'notification',
    data: notification.NotificationAcknowledged,
    summary: 'The recipient acknowledged a notice.',
  },
  'idrelay.notification.opened': {
    area: 'notification',
    data: notification.NotificationOpened,
    summary: 'The recipient opened a notification.',
  },
  'idrelay.preference.changed': {
    area: 'notification',
    data: notification.PreferenceChanged,
    summary: 'A user changed their notification preferences.',
  },
  'idrelay.exstream.template.opened': {
    area: 'exstream',
    data: exstream.ExstreamTemplateOpened,
    summary: 'An Exstream template was opened.',
  },
  'idrelay.exstream.template.edited': {
    area: 'exstream',
    data: exstream.ExstreamTemplateEdited,
    summary: 'An Exstream template was edited.',
  },
  'idrelay.exstream.content.submitted': {
    area: 'exstream',
    data: exstream.ExstreamContentSubmitted,
    summary: 'Exstream content was submitted for approval.',
  },
  'idrelay.exstream.content.approved': {
    area: 'exstream',
    data: exstream.ExstreamContentApproved,
    summary: 'Exstream content was approved.',
  },
  'idrelay.exstream.content.rejected': {
    area: 'exstream',
    data: exstream.ExstreamContentRejected,
    summary: 'Exstream content was rejected.',
  },
  'idrelay.exstream.production.triggered': {
    area: 'exstream',
    data: exstream.ExstreamProductionTriggered,
    summary: 'An Exstream production run started.',
  },
  'idrelay.exstream.access.granted': {
    area: 'exstream',
    data: exstream.ExstreamAccessGranted,
    summary: 'An Exstream role was granted.',
  },
  'idrelay.exstream.access.revoked': {
    area: 'exstream',
    data: exstream.ExstreamAccessRevoked,
    summary: 'An Exstream role was revoked.',
  },
} as const satisfies Record<string, { area: string; data: z.ZodType; summary: string; secrets?: readonly string[] }>;

/** Every event type in the catalogue, e.g. `'idrelay.access.requested'`. */
export type EventType = keyof typeof EVENT_CATALOGUE;

/** The `data` of each event type, as parsed (defaults applied). */
export type EventDataMap = { [T in EventType]: z.output<(typeof EVENT_CATALOGUE)[T]['data']> };

/** The `data` of each event type as a producer writes it. */
export type EventDataInputMap = { [T in EventType]: z.input<(typeof EVENT_CATALOGUE)[T]['data']> };

/** The catalogue's event types, in catalogue order. */
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as EventType[];

/** True when `type` is an event type in the catalogue. */
export function isEventType(type: unknown): type is EventType {
  return typeof type === 'string' && Object.hasOwn(EVENT_CATALOGUE, type);
}

/**
 * The paths of an event type's fields that must never reach a push payload (the number-matching code the user
 * types on the device, which would prove nothing if the push carried it). Templates and rules cannot read them:
 * the engine renders against a copy of the event without them.
 *
 * @example
 * ```ts
 * secretPaths('idrelay.auth.verification.requested'); // ['data.numberMatch.code']
 * secretPaths('idrelay.account.locked'); // []
 * ```
 */
export function secretPaths(type: string): readonly string[] {
  if (!isEventType(type)) return [];
  const entry = EVENT_CATALOGUE[type];
  return 'secrets' in entry ? entry.secrets : [];
}
