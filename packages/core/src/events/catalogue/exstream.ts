import { z } from 'zod';
import { Actor, Id, LongText, Text, Timestamp } from './shared.js';

const Template = z.looseObject({ id: Id, name: Text.optional(), version: z.string().max(64).optional() });

/** `idrelay.exstream.template.opened` — a user opened an Exstream template in the designer. */
export const ExstreamTemplateOpened = z.looseObject({ template: Template, userId: Id, openedAt: Timestamp });

/** `idrelay.exstream.template.edited` — a user saved changes to an Exstream template. */
export const ExstreamTemplateEdited = z.looseObject({
  template: Template,
  userId: Id,
  editedAt: Timestamp,
  summary: LongText.optional(),
});

/** `idrelay.exstream.content.submitted` — content was submitted for approval; reviewers are asked to decide. */
export const ExstreamContentSubmitted = z.looseObject({
  contentId: Id,
  name: Text.optional(),
  submittedBy: Actor,
  reviewers: z.array(Id).max(1000).optional(),
});

/** `idrelay.exstream.content.approved` — a reviewer approved submitted content; the submitter is told. */
export const ExstreamContentApproved = z.looseObject({
  contentId: Id,
  approver: Actor,
  submittedBy: Actor.optional(),
  comment: LongText.optional(),
});

/** `idrelay.exstream.content.rejected` — a reviewer rejected submitted content; the submitter is told. */
export const ExstreamContentRejected = z.looseObject({
  contentId: Id,
  approver: Actor,
  submittedBy: Actor.optional(),
  reason: LongText.optional(),
});

/** `idrelay.exstream.production.triggered` — a production run (document generation) was started. */
export const ExstreamProductionTriggered = z.looseObject({
  jobId: Id,
  application: Text.optional(),
  triggeredBy: Actor,
  environment: z.string().max(64).optional(),
  documents: z.int().min(0).optional(),
});

/** `idrelay.exstream.access.granted` — a user was given an Exstream role (possibly external and time-bound). */
export const ExstreamAccessGranted = z.looseObject({
  userId: Id,
  role: Text,
  grantedBy: Actor.optional(),
  until: Timestamp.optional(),
  external: z.boolean().optional(),
});

/** `idrelay.exstream.access.revoked` — an Exstream role was taken away. */
export const ExstreamAccessRevoked = z.looseObject({
  userId: Id,
  role: Text,
  revokedBy: Actor.optional(),
  reason: LongText.optional(),
});
