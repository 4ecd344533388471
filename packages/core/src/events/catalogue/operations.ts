import { z } from 'zod';
import { Failure, Id, Text, Timestamp } from './shared.js';

/** `idrelay.workflow.failed` — an IAM workflow run failed; administrators are alerted (digested in bursts). */
export const WorkflowFailed = z.looseObject({
  workflowId: Id,
  workflowName: Text,
  runId: Id.optional(),
  step: Text.optional(),
  error: Failure,
});

/** `idrelay.workflow.stalled` — a workflow run has made no progress since `stalledSince`. */
export const WorkflowStalled = z.looseObject({
  workflowId: Id,
  workflowName: Text,
  runId: Id,
  stalledSince: Timestamp,
  transitions: z.int().min(0).optional(),
});

/** `idrelay.provisioning.failed` — creating, changing or removing an account in a target system failed. */
export const ProvisioningFailed = z.looseObject({
  target: z.looseObject({ system: Text, id: Id.optional() }),
  userId: Id.optional(),
  operation: z.enum(['create', 'update', 'delete', 'enable', 'disable', 'grant', 'revoke']),
  error: Failure,
});

/** `idrelay.sync.failed` — a connector's synchronisation failed (digested in bursts, one alert per window). */
export const SyncFailed = z.looseObject({
  connector: Text,
  system: Text.optional(),
  error: Failure,
  failingSince: Timestamp.optional(),
});
