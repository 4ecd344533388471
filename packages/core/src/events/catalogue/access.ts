import { z } from 'zod';
import { Actor, Id, LongText, Text, Timestamp } from './shared.js';

/** The resource, role or entitlement access is requested to. */
const Resource = z.looseObject({
  id: Id,
  name: Text.optional(),
  type: z.string().max(128).optional(),
  system: Text.optional(),
});

/** `idrelay.access.requested` — an IAM approval workflow asks approvers to decide on an access request. */
export const AccessRequested = z.looseObject({
  requestId: Id,
  requester: Actor,
  /** Who gets the access when it is not the requester (request on behalf of). */
  beneficiary: Actor.optional(),
  resource: Resource,
  justification: LongText.optional(),
  /** Approver user ids named by the workflow; when absent, the directory's approvers of the resource decide. */
  approvers: z.array(Id).max(1000).optional(),
  /** Approvals needed before the request is granted (quorum); default 1. */
  quorum: z.int().min(1).max(100).optional(),
  /** Grant until (time-bound access). */
  accessUntil: Timestamp.optional(),
  /** When the request lapses without a decision. */
  expiresAt: Timestamp.optional(),
  riskLevel: z.enum(['low', 'medium', 'high']).optional(),
  /** Access for someone outside the organisation (time-bound external access). */
  external: z.boolean().optional(),
});

/** `idrelay.access.approved` — an approver granted the request (with a verified, device-signed decision). */
export const AccessApproved = z.looseObject({
  requestId: Id,
  approver: Actor,
  decidedAt: Timestamp,
  comment: LongText.optional(),
  /** The device that signed the decision, when it came through a push action. */
  deviceId: Id.optional(),
  accessUntil: Timestamp.optional(),
});

/** `idrelay.access.denied` — an approver refused the request. */
export const AccessDenied = z.looseObject({
  requestId: Id,
  approver: Actor,
  decidedAt: Timestamp,
  reason: LongText.optional(),
  deviceId: Id.optional(),
});

/** `idrelay.access.expired` — the request lapsed without a decision, or its flow hit its transition limit. */
export const AccessExpired = z.looseObject({
  requestId: Id,
  expiredAt: Timestamp,
  reason: z.enum(['timeout', 'max-transitions', 'withdrawn']),
});

/** `idrelay.access.reminder` — a pending request is still waiting; approvers are reminded or it escalates. */
export const AccessReminder = z.looseObject({
  requestId: Id,
  approvers: z.array(Id).min(1).max(1000),
  reminder: z.int().min(1).max(1000),
  escalated: z.boolean().optional(),
  dueAt: Timestamp.optional(),
});
