import type { PushAction } from '@idrelay/core';
import type { TemplateDefinition, TemplateField } from './template.js';

const safe = (path: string, fallback: string): TemplateField => ({
  path,
  lockScreenSafe: true,
  fallback,
  maxLength: 80,
});

const decide: PushAction[] = [
  { id: 'approve', title: 'Approve', authenticationRequired: true },
  { id: 'deny', title: 'Deny', destructive: true, authenticationRequired: true },
];

/**
 * Lock-screen text stays generic on purpose: names of people, reasons and justifications are personal data and
 * stay in the app. Only application, resource, group, policy, workflow and connector names are marked safe.
 */
const TEXT: Record<string, { title: string; body?: string; fields?: Record<string, TemplateField> }> = {
  'idrelay.access.requested': {
    title: 'Access request waiting',
    body: 'Someone needs access to {{resource}}. Open the app to review.',
    fields: { resource: safe('data.resource.name', 'a resource') },
  },
  'idrelay.access.approved': {
    title: 'Access approved',
    body: 'Your request {{request}} was approved.',
    fields: { request: safe('data.requestId', '') },
  },
  'idrelay.access.denied': {
    title: 'Access denied',
    body: 'Your request {{request}} was denied.',
    fields: { request: safe('data.requestId', '') },
  },
  'idrelay.access.expired': {
    title: 'Access request expired',
    body: 'Request {{request}} lapsed without a decision.',
    fields: { request: safe('data.requestId', '') },
  },
  'idrelay.access.reminder': { title: 'Access request still waiting', body: 'A request needs your decision.' },
  'idrelay.auth.verification.requested': {
    title: 'Confirm your sign-in',
    body: 'Sign-in to {{application}}. Enter the number shown on screen.',
    fields: { application: safe('data.application.name', 'an application') },
  },
  'idrelay.auth.verification.approved': { title: 'Sign-in confirmed' },
  'idrelay.auth.verification.denied': { title: 'Sign-in denied and reported', body: 'The security team was alerted.' },
  'idrelay.auth.risk.detected': {
    title: 'Security alert',
    body: 'Unusual sign-in activity ({{level}} risk). Open the app for details.',
    fields: { level: safe('data.level', 'unknown') },
  },
  'idrelay.privilege.assigned': {
    title: 'Privilege assigned',
    body: '{{privilege}} was assigned.',
    fields: { privilege: safe('data.privilege.name', 'A privilege') },
  },
  'idrelay.privilege.elevated': {
    title: 'Privilege elevated',
    body: '{{privilege}} is active for a limited time.',
    fields: { privilege: safe('data.privilege.name', 'A privilege') },
  },
  'idrelay.privilege.used': {
    title: 'Privilege used',
    body: '{{privilege}} was exercised.',
    fields: { privilege: safe('data.privilege.name', 'A privilege') },
  },
  'idrelay.privilege.revoked': {
    title: 'Privilege revoked',
    body: '{{privilege}} was revoked.',
    fields: { privilege: safe('data.privilege.name', 'A privilege') },
  },
  'idrelay.account.locked': { title: 'Your account was locked', body: 'Open the app to see how to unlock it.' },
  'idrelay.account.disabled': { title: 'Your account was disabled' },
  'idrelay.account.enabled': { title: 'Your account is enabled again' },
  'idrelay.account.password.reset-required': {
    title: 'Password change required',
    body: 'Change your password at your next sign-in.',
  },
  'idrelay.account.password.expiring': {
    title: 'Password expiring',
    body: 'Your password expires in {{days}} days.',
    fields: { days: safe('data.daysLeft', 'a few') },
  },
  'idrelay.user.created': { title: 'A new team member is joining', body: 'Open the app to prepare their start.' },
  'idrelay.user.activated': { title: 'Your account is ready' },
  'idrelay.user.updated': { title: 'Your profile changed' },
  'idrelay.user.deactivated': {
    title: 'An account was deactivated',
    body: 'A member of your team can no longer sign in.',
  },
  'idrelay.user.deleted': { title: 'An account was deleted' },
  'idrelay.group.member.added': {
    title: 'Group membership added',
    body: 'Added to {{group}}.',
    fields: { group: safe('data.groupName', 'a group') },
  },
  'idrelay.group.member.removed': {
    title: 'Group membership removed',
    body: 'Removed from {{group}}.',
    fields: { group: safe('data.groupName', 'a group') },
  },
  'idrelay.group.bulk-changed': {
    title: 'Group changed',
    body: '{{group}}: {{added}} added, {{removed}} removed.',
    fields: {
      group: safe('data.groupName', 'A group'),
      added: safe('data.added', '0'),
      removed: safe('data.removed', '0'),
    },
  },
  'idrelay.policy.action-required': {
    title: 'Action required',
    body: '{{policy}} needs your attention.',
    fields: { policy: safe('data.policy.name', 'A policy') },
  },
  'idrelay.policy.changed': {
    title: 'Policy changed',
    body: '{{policy}} was updated.',
    fields: { policy: safe('data.policy.name', 'A policy') },
  },
  'idrelay.onboarding.step': {
    title: 'Next onboarding step',
    body: '{{step}}',
    fields: { step: safe('data.step.title', 'Open the app to continue.') },
  },
  'idrelay.workflow.failed': {
    title: 'Workflow failed',
    body: '{{workflow}} failed.',
    fields: { workflow: safe('data.workflowName', 'A workflow') },
  },
  'idrelay.workflow.stalled': {
    title: 'Workflow stalled',
    body: '{{workflow}} stopped making progress.',
    fields: { workflow: safe('data.workflowName', 'A workflow') },
  },
  'idrelay.provisioning.failed': {
    title: 'Provisioning failed',
    body: 'A {{operation}} on {{system}} failed.',
    fields: { operation: safe('data.operation', 'change'), system: safe('data.target.system', 'a target system') },
  },
  'idrelay.sync.failed': {
    title: 'Synchronisation failed',
    body: '{{connector}} failed to synchronise.',
    fields: { connector: safe('data.connector', 'A connector') },
  },
  'idrelay.announcement.published': {
    title: '{{title}}',
    fields: { title: safe('data.title', 'Announcement') },
    body: 'Open the app to read it.',
  },
  'idrelay.notification.delivered': { title: 'Notification delivered' },
  'idrelay.notification.failed': { title: 'Notification failed' },
  'idrelay.notification.acknowledged': { title: 'Notice acknowledged' },
  'idrelay.notification.opened': { title: 'Notification opened' },
  'idrelay.preference.changed': { title: 'Notification settings changed' },
  'idrelay.exstream.template.opened': {
    title: 'Template opened',
    body: '{{template}} was opened.',
    fields: { template: safe('data.template.name', 'A template') },
  },
  'idrelay.exstream.template.edited': {
    title: 'Template edited',
    body: '{{template}} was changed.',
    fields: { template: safe('data.template.name', 'A template') },
  },
  'idrelay.exstream.content.submitted': {
    title: 'Content awaits review',
    body: '{{content}} was submitted for approval.',
    fields: { content: safe('data.name', 'Content') },
  },
  'idrelay.exstream.content.approved': { title: 'Content approved' },
  'idrelay.exstream.content.rejected': { title: 'Content rejected' },
  'idrelay.exstream.production.triggered': { title: 'Production run started' },
  'idrelay.exstream.access.granted': {
    title: 'Exstream role granted',
    body: 'You now have the role {{role}}.',
    fields: { role: safe('data.role', 'a role') },
  },
  'idrelay.exstream.access.revoked': {
    title: 'Exstream role revoked',
    body: 'The role {{role}} was removed.',
    fields: { role: safe('data.role', 'a role') },
  },
};

/**
 * Events whose `data.url` is where the user acts (the password change page, the recertification, the next step):
 * their push carries it as a deep link.
 */
const LINKED = new Set([
  'idrelay.account.locked',
  'idrelay.account.password.reset-required',
  'idrelay.account.password.expiring',
  'idrelay.policy.action-required',
  'idrelay.onboarding.step',
]);

const PLATFORM: Record<string, TemplateDefinition['platform'] & object> = {
  'idrelay.access.requested': {
    apns: { category: 'IDRELAY_DECIDE' },
    fcm: { channelId: 'approvals' },
    webpush: { requireInteraction: true },
  },
  'idrelay.access.reminder': {
    apns: { category: 'IDRELAY_DECIDE' },
    fcm: { channelId: 'approvals' },
    webpush: { requireInteraction: true },
  },
  'idrelay.auth.verification.requested': {
    apns: { category: 'IDRELAY_VERIFY', interruptionLevel: 'time-sensitive' },
    fcm: { channelId: 'verification' },
    webpush: { requireInteraction: true },
  },
  'idrelay.exstream.content.submitted': { apns: { category: 'IDRELAY_DECIDE' }, fcm: { channelId: 'approvals' } },
};

/**
 * What replaces a flow's stale push once its step is over (see `NotifyStep.withdrawTemplate`): passive, no
 * actions, nothing personal. `flow:decided` / `flow:closed` are the defaults; the shipped flows pick their own.
 */
function flowWithdrawalTemplates(): TemplateDefinition[] {
  const resource = { resource: safe('data.resource.name', 'a resource') };
  const text: Array<[string, string, string, Record<string, TemplateField>?]> = [
    ['flow:decided', 'Request decided', 'This request has been decided. Nothing more to do.'],
    ['flow:closed', 'Request closed', 'This request is no longer open. Nothing more to do.'],
    ['flow:decided:access', 'Access request decided', 'The request for {{resource}} has been decided.', resource],
    ['flow:closed:access', 'Access request closed', 'The request for {{resource}} is no longer open.', resource],
    ['flow:decided:session', 'Security alert answered', 'This alert was answered. Nothing more to do.'],
    ['flow:decided:action', 'Action acknowledged', 'This action was acknowledged. Nothing more to do.'],
    ['flow:decided:onboarding', 'Onboarding step done', 'This step is complete.'],
  ];
  return text.map(([key, title, body, fields]) => ({
    key,
    title,
    body,
    threadId: 'flow',
    ...(fields ? { fields } : {}),
    platform: { apns: { interruptionLevel: 'passive' } },
  }));
}

/**
 * The built-in English templates: one per catalogue event type plus `digest:operations` for digested
 * operational alerts and the `flow:*` updates that replace a decided flow's pushes. Verification requests carry approve/deny/report actions but never the number-matching code.
 * Required actions and self-service events (a locked account, a password to change, a policy action, an onboarding
 * step) carry the event's `data.url` as the push's deep link when it is a safe one.
 *
 * @example
 * ```ts
 * const templates = createTemplates([...defaultTemplates(), myGermanTemplates]);
 * ```
 */
export function defaultTemplates(): TemplateDefinition[] {
  const list: TemplateDefinition[] = Object.entries(TEXT).map(([key, text]) => {
    const template: TemplateDefinition = { key, title: text.title, threadId: key.split('.')[1] ?? 'idrelay' };
    if (text.body) template.body = text.body;
    if (text.fields) template.fields = text.fields;
    const platform = PLATFORM[key];
    if (platform) template.platform = platform;
    if (LINKED.has(key)) {
      template.fields = { ...template.fields, link: { path: 'data.url' } };
      template.url = '{{link}}';
    }
    if (key === 'idrelay.access.requested' || key === 'idrelay.access.reminder') {
      template.actions = decide;
      template.fields = { ...template.fields, request: { path: 'data.requestId' } };
      template.data = { requestId: '{{request}}' };
    }
    if (key === 'idrelay.auth.verification.requested') {
      template.actions = [
        ...decide,
        { id: 'report', title: 'Not me', destructive: true, authenticationRequired: true },
      ];
      template.fields = { ...template.fields, verification: { path: 'data.verificationId' } };
      template.data = { verificationId: '{{verification}}' };
      template.ttlSeconds = 120;
    }
    return template;
  });
  list.push(...flowWithdrawalTemplates());
  list.push({
    key: 'digest:operations',
    fields: {
      count: safe('digest.count', '1'),
      minutes: safe('digest.windowMinutes', 'a few'),
      first: safe('digest.first.title', 'Operational failures'),
    },
    title: 'IAM operations: {{count}} failure(s)',
    body: '{{count}} failure(s) in the last {{minutes}} minutes, first: {{first}}.',
    threadId: 'operations',
    platform: { fcm: { channelId: 'operations' } },
  });
  return list;
}
