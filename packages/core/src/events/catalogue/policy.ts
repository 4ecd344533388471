import { z } from 'zod';
import { AudienceSpecSchema } from '../../audience/audience-spec.js';
import { Id, LongText, Text, Timestamp } from './shared.js';

const Policy = z.looseObject({ id: Id, name: Text, version: z.string().max(64).optional() });

/**
 * `idrelay.policy.action-required` — the user must act: recertify access, re-authenticate, or accept a policy.
 * Acknowledgements are written back to the directory.
 */
export const PolicyActionRequired = z.looseObject({
  actionId: Id,
  userId: Id,
  kind: z.enum(['recertification', 're-authentication', 'policy-acceptance']),
  policy: Policy,
  dueBy: Timestamp.optional(),
  url: z.url().optional(),
});

/** `idrelay.policy.changed` — a policy changed; the people it concerns (`audience`) are told. */
export const PolicyChanged = z.looseObject({
  policy: Policy,
  summary: LongText.optional(),
  effectiveAt: Timestamp.optional(),
  /** Who the policy concerns; without it the change is recorded and audited but nobody is notified. */
  audience: AudienceSpecSchema.optional(),
});
