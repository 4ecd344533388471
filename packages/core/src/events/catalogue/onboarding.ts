import { z } from 'zod';
import { Id, Text, Timestamp } from './shared.js';

/** `idrelay.onboarding.step` — a joiner flow reached a step; the next step follows when this one is completed. */
export const OnboardingStep = z
  .looseObject({
    flowId: Id,
    userId: Id,
    step: z.looseObject({ id: Id, title: Text, index: z.int().min(0), total: z.int().min(1) }),
    completedStepId: Id.optional(),
    dueBy: Timestamp.optional(),
  })
  .refine((data) => data.step.index < data.step.total, {
    message: 'step.index must be less than step.total',
    path: ['step', 'index'],
  });
