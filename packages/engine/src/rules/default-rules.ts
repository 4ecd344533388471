import type { IdentityEvent } from '@idrelay/core';
import { eventSubject } from '@idrelay/core/events';
import type { CodeRule, DeclarativeRule, IntentSpec, Rule } from './rule.js';

/**
 * Options of {@link defaultRules}.
 *
 * @example
 * ```ts
 * defaultRules({ securityGroup: 'g-soc', adminGroup: 'g-iam-admins', digestWindowMs: 5 * 60_000 });
 * ```
 */
export interface DefaultRulesOptions {
  /** Directory group of the security team: privilege changes, reported denials, risk signals. */
  securityGroup: string;
  /** Directory group of IAM administrators: failed workflows, syncs and provisioning. */
  adminGroup: string;
  /** Digest window for operational failures, ms. Default 10 minutes. */
  digestWindowMs?: number;
}

const user = { kind: 'users', userIds: ['$data.userId'] } as const;
const managerOfUser = { kind: 'manager-of', userId: '$data.userId' } as const;

function requesterAudience(event: IdentityEvent): IntentSpec['audience'] | undefined {
  const data = event.data as { requester?: { id?: unknown }; beneficiary?: { id?: unknown } };
  const ids = [data.requester?.id, data.beneficiary?.id].filter((id): id is string => typeof id === 'string');
  if (ids.length > 0) return { kind: 'users', userIds: [...new Set(ids)] };
  const subject = eventSubject(event);
  if (subject) return { kind: 'subjects', subjects: [subject] };
  return undefined;
}

/**
 * The rule set that covers every use case of the event catalogue (ARCHITECTURE.md): approvers for access
 * requests, the user for sign-in verification, the security team for privilege changes and risk, the user and
 * manager for memberships, administrators (digested) for operational failures, and announcements to their own
 * audience. Exstream designer activity (`exstream.template.*`) and production runs feed the audit timeline only and
 * notify nobody by default. Use it as is, or spread it and add rules before or after.
 *
 * @example
 * ```ts
 * const relay = createRelay({ ..., rules: defaultRules({ securityGroup: 'g-soc', adminGroup: 'g-iam-admins' }) });
 * ```
 */
export function defaultRules(options: DefaultRulesOptions): Rule[] {
  const security = { kind: 'group', groupId: options.securityGroup } as const;
  const admins = { kind: 'group', groupId: options.adminGroup } as const;
  const windowMs = options.digestWindowMs ?? 10 * 60_000;
  const declarative: DeclarativeRule[] = [
    {
      id: 'access-request-named-approvers',
      description: 'Approvers named by the workflow decide on an access request.',
      types: ['access.requested'],
      when: [{ path: 'data.approvers', exists: true }],
      notify: {
        audience: { kind: 'users', userIds: ['$data.approvers'] },
        category: 'access-request',
        urgency: 'high',
        collapseId: 'access:{{data.requestId}}',
        expiresAt: '$data.expiresAt',
        priority: 20,
      },
    },
    {
      id: 'access-request-resource-approvers',
      description: "Without named approvers, the directory's approvers of the resource decide.",
      types: ['access.requested'],
      when: [{ path: 'data.approvers', exists: false }],
      notify: {
        audience: { kind: 'approvers-of', resourceId: '$data.resource.id' },
        category: 'access-request',
        urgency: 'high',
        collapseId: 'access:{{data.requestId}}',
        expiresAt: '$data.expiresAt',
        priority: 20,
      },
    },
    {
      id: 'access-reminder-approvers',
      description: 'Pending requests remind (or escalate to) the approvers the reminder names.',
      types: ['access.reminder'],
      notify: {
        audience: { kind: 'users', userIds: ['$data.approvers'] },
        category: 'access-request',
        urgency: 'high',
        collapseId: 'access:{{data.requestId}}',
      },
    },
    {
      id: 'verification-to-user',
      description: 'Push MFA: the user confirms the sign-in; critical, time-sensitive, never deferred.',
      types: ['auth.verification.requested'],
      notify: {
        audience: user,
        category: 'verification',
        urgency: 'high',
        critical: true,
        collapseId: 'verify:{{data.verificationId}}',
        expiresAt: '$data.expiresAt',
        priority: 100,
      },
    },
    {
      id: 'reported-denial-to-security',
      description: '"Deny and report": the security team is alerted.',
      types: ['auth.verification.denied'],
      when: [{ path: 'data.reported', equals: true }],
      notify: { audience: security, category: 'security-alert', urgency: 'high', critical: true },
    },
    {
      id: 'risk-to-security',
      description: 'Risk signals reach the security team.',
      types: ['auth.risk.detected'],
      notify: { audience: security, category: 'security-alert', urgency: 'high', critical: true },
    },
    {
      id: 'risk-to-user',
      description: 'Medium and high risk signals also reach the user, who can tell whether it was them.',
      types: ['auth.risk.detected'],
      when: [{ path: 'data.level', in: ['medium', 'high'] }],
      notify: { audience: user, category: 'security-alert', urgency: 'high', critical: true },
    },
    {
      id: 'privilege-to-security',
      description: 'Every privilege change or use reaches the security team.',
      types: ['privilege.*'],
      notify: { audience: security, category: 'security-alert', urgency: 'high', critical: true },
    },
    {
      id: 'privilege-to-user',
      description: 'Users learn about privileges given to or taken from them.',
      types: ['privilege.assigned', 'privilege.elevated', 'privilege.revoked'],
      notify: { audience: user, category: 'privilege', urgency: 'normal' },
    },
    {
      id: 'account-to-user',
      description: 'Account state changes reach the user.',
      types: ['account.*'],
      notify: { audience: user, category: 'account', urgency: 'high' },
    },
    {
      id: 'membership-to-user-and-manager',
      description: 'Group membership changes reach the user and their manager.',
      types: ['group.member.added', 'group.member.removed'],
      notify: {
        audience: { kind: 'any-of', audiences: [user, managerOfUser] },
        category: 'membership',
      },
    },
    {
      id: 'privileged-membership-to-security',
      description: 'Changes to privileged groups also reach the security team.',
      types: ['group.member.added', 'group.member.removed', 'group.bulk-changed'],
      when: [{ path: 'data.privileged', equals: true }],
      notify: { audience: security, category: 'security-alert', urgency: 'high', critical: true },
    },
    {
      id: 'joiner-to-named-manager',
      description: "Joiners: the manager named in the event prepares the new colleague's start.",
      types: ['user.created'],
      when: [{ path: 'data.managerId', exists: true }],
      notify: { audience: { kind: 'users', userIds: ['$data.managerId'] }, category: 'lifecycle' },
    },
    {
      id: 'joiner-to-directory-manager',
      description: 'Joiners without a named manager: the manager the directory knows.',
      types: ['user.created'],
      when: [{ path: 'data.managerId', exists: false }],
      notify: { audience: managerOfUser, category: 'lifecycle' },
    },
    {
      id: 'activation-to-user',
      description: 'The new user learns that their account is ready.',
      types: ['user.activated'],
      notify: { audience: user, category: 'lifecycle' },
    },
    {
      id: 'leaver-to-manager',
      description: 'Leavers: the manager is told the account was deactivated.',
      types: ['user.deactivated'],
      notify: { audience: managerOfUser, category: 'lifecycle' },
    },
    {
      id: 'operations-to-admins',
      description: 'Failed or stalled workflows, syncs and provisioning reach administrators, digested per window.',
      types: ['workflow.failed', 'workflow.stalled', 'sync.failed', 'provisioning.failed'],
      notify: {
        audience: admins,
        category: 'operations',
        urgency: 'normal',
        template: 'digest:operations',
        digest: { windowMs, key: 'operations:{{type}}' },
      },
    },
    {
      id: 'announcement-to-audience',
      description: 'Announcements go to the audience they name.',
      types: ['announcement.published'],
      notify: {
        audience: '$data.audience',
        category: 'announcement',
        collapseId: 'announcement:{{data.announcementId}}',
        expiresAt: '$data.expiresAt',
      },
    },
    {
      id: 'policy-action-to-user',
      description: 'Recertification, re-authentication and policy acceptance reach the user who must act.',
      types: ['policy.action-required'],
      notify: { audience: user, category: 'policy', urgency: 'high', collapseId: 'policy:{{data.actionId}}' },
    },
    {
      id: 'onboarding-step-to-user',
      description: 'Each onboarding step reaches the joiner; the latest step replaces the previous one.',
      types: ['onboarding.step'],
      notify: { audience: user, category: 'onboarding', collapseId: 'onboarding:{{data.flowId}}' },
    },
    {
      id: 'exstream-review-to-reviewers',
      description: 'Exstream content submitted for approval reaches its reviewers.',
      types: ['exstream.content.submitted'],
      when: [{ path: 'data.reviewers', exists: true }],
      notify: {
        audience: { kind: 'users', userIds: ['$data.reviewers'] },
        category: 'access-request',
        urgency: 'high',
      },
    },
    {
      id: 'policy-change-to-audience',
      description: 'A changed policy reaches the audience the event names (without one it is only audited).',
      types: ['policy.changed'],
      when: [{ path: 'data.audience', exists: true }],
      notify: { audience: '$data.audience', category: 'policy', collapseId: 'policy-change:{{data.policy.id}}' },
    },
    {
      id: 'exstream-decision-to-submitter',
      description: 'The submitter of Exstream content learns whether it was approved or rejected.',
      types: ['exstream.content.approved', 'exstream.content.rejected'],
      when: [{ path: 'data.submittedBy', exists: true }],
      notify: {
        audience: { kind: 'users', userIds: ['$data.submittedBy.id'] },
        category: 'access-decision',
        collapseId: 'exstream-review:{{data.contentId}}',
      },
    },
    {
      id: 'exstream-access-to-user',
      description: 'Exstream roles granted or revoked reach the user.',
      types: ['exstream.access.granted', 'exstream.access.revoked'],
      notify: { audience: user, category: 'privilege' },
    },
  ];
  const requester: CodeRule = {
    id: 'access-decision-to-requester',
    description: 'The requester (or beneficiary) learns the outcome of their access request.',
    types: ['access.approved', 'access.denied', 'access.expired'],
    evaluate(event) {
      const audience = requesterAudience(event);
      if (!audience) return { skip: 'the event names no requester (data.requester or idrelaysubject)' };
      return {
        audience,
        category: 'access-decision',
        collapseId: `access-decision:${(event.data as { requestId: string }).requestId}`,
      };
    },
  };
  const order: Rule[] = [...declarative];
  order.splice(3, 0, requester);
  return order;
}
