import { z } from 'zod';
import { AudienceSpecSchema } from '../../audience/audience-spec.js';
import { Id, LongText, Text, Timestamp } from './shared.js';

/** `idrelay.announcement.published` — operators address an audience chosen by group or directory attributes. */
export const AnnouncementPublished = z.looseObject({
  announcementId: Id,
  title: Text,
  body: LongText,
  audience: AudienceSpecSchema,
  severity: z.enum(['info', 'warning', 'critical']).optional(),
  /** Recipients must acknowledge; acknowledgements are written back to the directory. */
  requiresAcknowledgement: z.boolean().optional(),
  expiresAt: Timestamp.optional(),
});
