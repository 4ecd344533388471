/**
 * One valid `data` sample for every event type. Typed against the catalogue, so adding a type without a sample
 * fails the type check.
 */
import type { EventDataInputMap, EventType } from '../src/events/catalogue/index.js';

const at = '2026-11-23T09:00:00Z';
const later = '2026-11-23T10:00:00+01:00';
const privilege = { id: 'grp-prod-admins', name: 'Production admins', kind: 'group' as const, system: 'AD' };

export const VALID_DATA: { [T in EventType]: EventDataInputMap[T] } = {
  'idrelay.access.requested': {
    requestId: 'req-1',
    requester: { id: 'u-1', displayName: 'Alice' },
    resource: { id: 'res-db', name: 'Customer DB (read)' },
    justification: 'Quarter-end report',
    approvers: ['u-2', 'u-3'],
    quorum: 1,
    expiresAt: later,
  },
  'idrelay.access.approved': { requestId: 'req-1', approver: { id: 'u-2' }, decidedAt: at, deviceId: 'dev-2' },
  'idrelay.access.denied': { requestId: 'req-1', approver: { id: 'u-2' }, decidedAt: at, reason: 'Not needed' },
  'idrelay.access.expired': { requestId: 'req-1', expiredAt: at, reason: 'timeout' },
  'idrelay.access.reminder': { requestId: 'req-1', approvers: ['u-2'], reminder: 1 },
  'idrelay.auth.verification.requested': {
    verificationId: 'ver-1',
    userId: 'u-1',
    application: { id: 'app-hr', name: 'HR portal' },
    context: { ipAddress: '203.0.113.9', location: { city: 'Zurich', country: 'CH' } },
    numberMatch: { code: '42' },
    expiresAt: later,
  },
  'idrelay.auth.verification.approved': { verificationId: 'ver-1', userId: 'u-1', deviceId: 'dev-1', decidedAt: at },
  'idrelay.auth.verification.denied': {
    verificationId: 'ver-1',
    userId: 'u-1',
    decidedAt: at,
    reported: true,
    reason: 'not-me',
  },
  'idrelay.auth.risk.detected': { userId: 'u-1', level: 'high', reasons: ['denied-verification'], causedBy: 'ver-1' },
  'idrelay.privilege.assigned': { userId: 'u-1', privilege },
  'idrelay.privilege.elevated': { userId: 'u-1', privilege, until: later, reason: 'Incident 4711' },
  'idrelay.privilege.used': { userId: 'u-1', privilege, action: 'restart-cluster', usedAt: at },
  'idrelay.privilege.revoked': { userId: 'u-1', privilege, reason: 'expired' },
  'idrelay.account.locked': { userId: 'u-1', reason: 'failed-logins', failedAttempts: 5 },
  'idrelay.account.disabled': { userId: 'u-1', reason: 'Leaver' },
  'idrelay.account.enabled': { userId: 'u-1' },
  'idrelay.account.password.reset-required': { userId: 'u-1', reason: 'compromise' },
  'idrelay.account.password.expiring': { userId: 'u-1', expiresAt: later, daysLeft: 3 },
  'idrelay.user.created': {
    userId: 'u-9',
    userName: 'bob',
    displayName: 'Bob',
    managerId: 'u-1',
    attributes: { department: 'Finance', location: ['Zurich'] },
  },
  'idrelay.user.activated': { userId: 'u-9' },
  'idrelay.user.updated': {
    userId: 'u-9',
    changes: [{ attribute: 'department', oldValue: 'Finance', newValue: 'IT' }],
  },
  'idrelay.user.deactivated': { userId: 'u-9' },
  'idrelay.user.deleted': { userId: 'u-9' },
  'idrelay.group.member.added': { groupId: 'grp-1', userId: 'u-9', privileged: true },
  'idrelay.group.member.removed': { groupId: 'grp-1', userId: 'u-9' },
  'idrelay.group.bulk-changed': { groupId: 'grp-1', added: 120, removed: 4 },
  'idrelay.policy.action-required': {
    actionId: 'act-1',
    userId: 'u-1',
    kind: 'recertification',
    policy: { id: 'pol-1', name: 'Quarterly access review' },
    dueBy: later,
  },
  'idrelay.policy.changed': { policy: { id: 'pol-2', name: 'Acceptable use', version: '3' } },
  'idrelay.onboarding.step': {
    flowId: 'flow-1',
    userId: 'u-9',
    step: { id: 'mfa', title: 'Enrol MFA', index: 1, total: 4 },
  },
  'idrelay.workflow.failed': {
    workflowId: 'wf-1',
    workflowName: 'Joiner',
    error: { code: 'E_TIMEOUT', message: 'Target system timed out' },
  },
  'idrelay.workflow.stalled': { workflowId: 'wf-1', workflowName: 'Joiner', runId: 'run-1', stalledSince: at },
  'idrelay.provisioning.failed': {
    target: { system: 'SAP' },
    userId: 'u-9',
    operation: 'create',
    error: { message: 'Duplicate account' },
  },
  'idrelay.sync.failed': { connector: 'ldap', error: { message: 'Bind failed' } },
  'idrelay.announcement.published': {
    announcementId: 'ann-1',
    title: 'Maintenance tonight',
    body: 'SSO is down 22:00-23:00.',
    audience: { kind: 'attributes', filter: { department: ['Finance', 'IT'] } },
    severity: 'info',
  },
  'idrelay.notification.delivered': {
    notificationId: 'n-1',
    deliveryId: 'd-1',
    causedBy: 'src#req-1',
    userId: 'u-1',
    deviceId: 'dev-1',
    platform: 'apns',
    attempts: 1,
  },
  'idrelay.notification.failed': {
    notificationId: 'n-1',
    deliveryId: 'd-1',
    causedBy: 'src#req-1',
    userId: 'u-1',
    deviceId: 'dev-1',
    platform: 'fcm',
    attempts: 5,
    outcome: 'dead-letter',
    code: 'messaging/internal-error',
  },
  'idrelay.notification.acknowledged': { notificationId: 'n-1', userId: 'u-1', acknowledgedAt: at },
  'idrelay.notification.opened': { notificationId: 'n-1', userId: 'u-1', openedAt: at },
  'idrelay.preference.changed': {
    userId: 'u-1',
    changes: [{ category: 'announcements', channel: '*', enabled: false }],
    quietHours: { start: '22:00', end: '07:00', timeZone: 'Europe/Zurich' },
    origin: 'device',
  },
  'idrelay.exstream.template.opened': { template: { id: 'tpl-1' }, userId: 'u-1', openedAt: at },
  'idrelay.exstream.template.edited': { template: { id: 'tpl-1', version: '7' }, userId: 'u-1', editedAt: at },
  'idrelay.exstream.content.submitted': { contentId: 'c-1', submittedBy: { id: 'u-1' }, reviewers: ['u-2'] },
  'idrelay.exstream.content.approved': { contentId: 'c-1', approver: { id: 'u-2' } },
  'idrelay.exstream.content.rejected': { contentId: 'c-1', approver: { id: 'u-2' }, reason: 'Wrong logo' },
  'idrelay.exstream.production.triggered': { jobId: 'job-1', triggeredBy: { id: 'svc-batch', type: 'service' } },
  'idrelay.exstream.access.granted': { userId: 'u-ext', role: 'Reviewer', until: later, external: true },
  'idrelay.exstream.access.revoked': { userId: 'u-ext', role: 'Reviewer' },
};

/** A well-formed envelope around `data`. */
export function envelope(type: string, data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: `evt-${type}`,
    source: 'https://iam.example.com',
    type,
    time: '2026-11-23T09:00:00Z',
    datacontenttype: 'application/json',
    data,
    ...extra,
  };
}
