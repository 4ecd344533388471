import type { PushAction } from '@idrelay/core';
import { readPath } from '../shared/read-path.js';
import { defineFlow, type FlowDefinition, type FlowEventContext, type NotifyStep } from './definition.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);
const missing = (input: Record<string, unknown>, paths: readonly string[]) =>
  paths.filter((path) => text(readPath(input, path)) === undefined).map((path) => `${path}: expected a string`);
const approver = (c: FlowEventContext) => ({ id: c.decision?.userId ?? 'system' });

/** Options of {@link accessApprovalFlow}. */
export interface AccessApprovalOptions {
  /** First reminder to approvers who have not decided. Default 4 h. */
  remindAfterMs?: number;
  /** Then every … Default 4 h. */
  remindEveryMs?: number;
  /** Reminders at most. Default 2. */
  maxReminders?: number;
  /** Their managers become approvers too. Default 24 h. */
  escalateAfterMs?: number;
  /** The request expires (unless the input's `expiresAt` is earlier). Default 72 h. */
  expireAfterMs?: number;
  version?: number;
}

const decide: PushAction[] = [
  { id: 'approve', title: 'Approve', authenticationRequired: true },
  { id: 'deny', title: 'Deny', destructive: true, authenticationRequired: true },
];

/**
 * Access approval (use cases 000-1, 001-6): the approvers named in the request (`approvers`), or else the
 * directory's approvers of the resource, get an actionable push; `quorum` approvals grant it (default one), one
 * denial refuses it; approvers who have not decided are reminded, then their managers are asked, then the request
 * expires. The requester (and the beneficiary's requester) can never approve. Emits `access.approved`,
 * `access.denied` or `access.expired` (reason `timeout` or `max-transitions`). Starts on `access.requested`
 * (input: its `data`, key: `requestId`) and replaces the two approver rules of `defaultRules()` for it
 * (`access-request-named-approvers`, `access-request-resource-approvers`), so each approver gets one push: the
 * flow's, which they can answer.
 *
 * @example
 * ```ts
 * const relay = createRelay({ ...options, rules: defaultRules(groups), flows: { definitions: [accessApprovalFlow({ remindAfterMs: 3_600_000 })] } });
 * ```
 */
export function accessApprovalFlow(options: AccessApprovalOptions = {}): FlowDefinition {
  const step: NotifyStep = {
    type: 'notify',
    id: 'approve',
    approvers: ({ input }) =>
      Array.isArray(input.approvers) && input.approvers.length > 0
        ? { kind: 'users', userIds: input.approvers as string[] }
        : { kind: 'approvers-of', resourceId: String(readPath(input, 'resource.id')) },
    template: 'idrelay.access.requested',
    category: 'access-request',
    urgency: 'high',
    actions: decide,
    quorum: {
      decision: 'approve',
      of: ({ input }) => (typeof input.quorum === 'number' && input.quorum > 1 ? { count: input.quorum } : 'any'),
    },
    on: { approve: { end: 'approved' }, deny: { end: 'denied' } },
    remind: {
      afterMs: options.remindAfterMs ?? 4 * HOUR,
      everyMs: options.remindEveryMs ?? 4 * HOUR,
      max: options.maxReminders ?? 2,
      template: 'idrelay.access.reminder',
    },
    escalate: { afterMs: options.escalateAfterMs ?? 24 * HOUR, template: 'idrelay.access.reminder' },
    expire: { afterMs: options.expireAfterMs ?? 72 * HOUR, atPath: 'expiresAt' },
    segregation: ['requester.id', 'author.id'],
    withdrawTemplate: ({ reason }) => (reason ? 'flow:closed:access' : 'flow:decided:access'),
    trace: true,
  };
  const requestId = (c: FlowEventContext) => String(c.input.requestId);
  return defineFlow({
    kind: 'access-approval',
    version: options.version ?? 1,
    description: 'Approvers decide on an access request, with reminders, escalation and expiry.',
    steps: [step],
    validate: (input) => missing(input, ['requestId', 'requester.id', 'resource.id']),
    startOn: {
      type: 'access.requested',
      key: (event) => String(readPath(event, 'data.requestId')),
      replacesRules: ['access-request-named-approvers', 'access-request-resource-approvers'],
    },
    events: {
      approved: (c) => ({
        type: 'idrelay.access.approved',
        data: {
          requestId: requestId(c),
          approver: approver(c),
          decidedAt: iso(c.decision?.at ?? c.now),
          ...(c.decision?.deviceId ? { deviceId: c.decision.deviceId } : {}),
          ...(c.decision?.comment ? { comment: c.decision.comment } : {}),
          ...(text(c.input.accessUntil) ? { accessUntil: c.input.accessUntil } : {}),
        },
      }),
      denied: (c) => ({
        type: 'idrelay.access.denied',
        data: {
          requestId: requestId(c),
          approver: approver(c),
          decidedAt: iso(c.decision?.at ?? c.now),
          ...(c.decision?.deviceId ? { deviceId: c.decision.deviceId } : {}),
          ...(c.decision?.comment ? { reason: c.decision.comment } : {}),
        },
      }),
      expired: (c) => ({
        type: 'idrelay.access.expired',
        data: { requestId: requestId(c), expiredAt: iso(c.now), reason: 'timeout' },
      }),
      terminated: (c) => ({
        type: 'idrelay.access.expired',
        data: { requestId: requestId(c), expiredAt: iso(c.now), reason: 'max-transitions' },
      }),
    },
  });
}

/**
 * "Was this you?" for a risky session (use case 000-5): the user gets a push about the activity (input: an
 * `auth.risk.detected` data with `userId`, `level`, `reasons`), and confirms it (`confirm` → outcome `confirmed`,
 * emitting `notification.acknowledged`) or reports it (`report` → outcome `reported`, emitting a high
 * `auth.risk.detected` for the security team's write-back). Unanswered, it expires after `expireAfterMs` (default
 * 1 h). Started with `relay.flows.start('session-confirmation', sessionId, input)`. For sign-ins, login
 * verification with number matching (000-2) lives in the relay's verification module, not here.
 *
 * @example
 * ```ts
 * await relay.flows.start('session-confirmation', 'session-42', { userId: 'alice', level: 'medium', reasons: ['new-region'] });
 * ```
 */
export function sessionConfirmationFlow(options: { expireAfterMs?: number; version?: number } = {}): FlowDefinition {
  return defineFlow({
    kind: 'session-confirmation',
    version: options.version ?? 1,
    description: 'The user confirms or reports risky activity on their account.',
    validate: (input) => missing(input, ['userId']),
    steps: [
      {
        type: 'notify',
        id: 'confirm',
        approvers: ({ input }) => ({ kind: 'users', userIds: [String(input.userId)] }),
        template: 'idrelay.auth.risk.detected',
        category: 'security-alert',
        urgency: 'high',
        critical: true,
        selfDecision: true,
        actions: [
          { id: 'confirm', title: 'It was me', authenticationRequired: true },
          { id: 'report', title: 'Not me', destructive: true, authenticationRequired: true },
        ],
        on: { confirm: { end: 'confirmed' }, report: { end: 'reported' } },
        withdrawTemplate: ({ reason }) => (reason ? 'flow:closed' : 'flow:decided:session'),
        expire: { afterMs: options.expireAfterMs ?? HOUR },
      },
    ],
    events: {
      confirmed: (c) => ({
        type: 'idrelay.notification.acknowledged',
        data: {
          notificationId: c.decision?.notificationId ?? c.flowId,
          userId: String(c.input.userId),
          acknowledgedAt: iso(c.decision?.at ?? c.now),
          causedBy: c.key,
          ...(c.decision?.deviceId ? { deviceId: c.decision.deviceId } : {}),
        },
      }),
      reported: (c) => ({
        type: 'idrelay.auth.risk.detected',
        data: {
          userId: String(c.input.userId),
          level: 'high',
          reasons: ['denied-verification'],
          causedBy: c.key,
          detectedAt: iso(c.decision?.at ?? c.now),
          ...(c.input.context && typeof c.input.context === 'object' ? { context: c.input.context } : {}),
        },
      }),
    },
  });
}

/**
 * A required action with acknowledgement (use cases 000-4, 001-8): the user is asked to act on a policy
 * (recertify, re-authenticate, accept; input: `policy.action-required` data), reminded daily, and their
 * `acknowledge` becomes `notification.acknowledged`, which reaches the directory's write-back. Past `dueBy` the flow
 * ends `overdue`. Starts on `policy.action-required` (key: `actionId`) and replaces the `policy-action-to-user`
 * rule of `defaultRules()` for it.
 *
 * @example
 * ```ts
 * const relay = createRelay({ ...options, writeBacks: [directoryWriteBack], flows: { definitions: [requiredActionFlow()] } });
 * ```
 */
export function requiredActionFlow(
  options: { remindEveryMs?: number; maxReminders?: number; version?: number } = {},
): FlowDefinition {
  return defineFlow({
    kind: 'required-action',
    version: options.version ?? 1,
    description: 'The user acknowledges a required action; the acknowledgement is written back.',
    validate: (input) => missing(input, ['actionId', 'userId']),
    startOn: {
      type: 'policy.action-required',
      key: (event) => String(readPath(event, 'data.actionId')),
      replacesRules: ['policy-action-to-user'],
    },
    steps: [
      {
        type: 'notify',
        id: 'acknowledge',
        approvers: ({ input }) => ({ kind: 'users', userIds: [String(input.userId)] }),
        template: 'idrelay.policy.action-required',
        category: 'policy',
        urgency: 'high',
        critical: true,
        selfDecision: true,
        actions: [{ id: 'acknowledge', title: 'Acknowledge', authenticationRequired: true }],
        on: { acknowledge: { end: 'acknowledged' } },
        withdrawTemplate: ({ reason }) => (reason ? 'flow:closed' : 'flow:decided:action'),
        remind: {
          afterMs: options.remindEveryMs ?? 24 * HOUR,
          everyMs: options.remindEveryMs ?? 24 * HOUR,
          max: options.maxReminders ?? 3,
        },
        expire: { atPath: 'dueBy', outcome: 'overdue' },
      },
    ],
    events: {
      acknowledged: (c) => ({
        type: 'idrelay.notification.acknowledged',
        data: {
          notificationId: c.decision?.notificationId ?? c.flowId,
          userId: String(c.input.userId),
          acknowledgedAt: iso(c.decision?.at ?? c.now),
          causedBy: String(c.input.actionId),
          ...(c.decision?.deviceId ? { deviceId: c.decision.deviceId } : {}),
        },
      }),
    },
  });
}

/** One step of an onboarding sequence. */
export interface OnboardingStepSpec {
  id: string;
  title: string;
  /** The page that completes it (https or an allowed app scheme). */
  url?: string;
}

/**
 * An onboarding sequence (use cases 000-6, 001-1): the new user gets one push per step (account setup, SSO
 * enrolment, policy acceptance …) and the next follows when they complete the current one — with `complete` on
 * the device or `relay.flows.decide(id, { userId, decision: 'complete' })` from the IAM system. Ends `completed`,
 * emitting `notification.acknowledged`. Starts on `user.created` (key: `userId`); replaces no rule (the joiner rules
 * notify the manager, not the new user).
 *
 * @example
 * ```ts
 * onboardingFlow({ steps: [{ id: 'password', title: 'Set your password', url: 'https://id.example.com/setup' }] });
 * ```
 */
export function onboardingFlow(options: {
  steps: readonly OnboardingStepSpec[];
  remindAfterMs?: number;
  version?: number;
}): FlowDefinition {
  const total = options.steps.length;
  return defineFlow({
    kind: 'onboarding',
    version: options.version ?? 1,
    description: 'A step-by-step onboarding sequence that advances as the user completes each step.',
    validate: (input) => missing(input, ['userId']),
    // The joiner rules tell the manager; the flow talks to the new user: both stay.
    startOn: { type: 'user.created', key: (event) => String(readPath(event, 'data.userId')), replacesRules: [] },
    steps: options.steps.map(
      (spec, index): NotifyStep => ({
        type: 'notify',
        id: spec.id,
        approvers: ({ input }) => ({ kind: 'users', userIds: [String(input.userId)] }),
        template: 'idrelay.onboarding.step',
        category: 'onboarding',
        urgency: 'normal',
        selfDecision: true,
        actions: [{ id: 'complete', title: 'Done' }],
        data: ({ flowId, input }) => ({
          flowId,
          userId: input.userId,
          step: { id: spec.id, title: spec.title, index, total },
          ...(spec.url ? { url: spec.url } : {}),
        }),
        withdrawTemplate: 'flow:decided:onboarding',
        on: { complete: index + 1 < total ? { next: options.steps[index + 1]!.id } : { end: 'completed' } },
        ...(options.remindAfterMs ? { remind: { afterMs: options.remindAfterMs } } : {}),
        trace: true,
      }),
    ),
    events: {
      completed: (c) => ({
        type: 'idrelay.notification.acknowledged',
        data: {
          notificationId: c.decision?.notificationId ?? c.flowId,
          userId: String(c.input.userId),
          acknowledgedAt: iso(c.decision?.at ?? c.now),
          causedBy: c.flowId,
          ...(c.decision?.deviceId ? { deviceId: c.decision.deviceId } : {}),
        },
      }),
    },
  });
}
