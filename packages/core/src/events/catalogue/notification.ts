import { z } from 'zod';
import { isTimeZone } from '../../time/time-zone.js';
import { Id, Text, Timestamp } from './shared.js';

const Platform = z.enum(['apns', 'fcm', 'webpush']);

/** `idrelay.notification.delivered` — a push service accepted a notification for a device (a receipt). */
export const NotificationDelivered = z.looseObject({
  notificationId: Id,
  deliveryId: Id,
  causedBy: Id,
  userId: Id,
  deviceId: Id,
  platform: Platform,
  attempts: z.int().min(1),
  providerMessageId: z.string().max(512).optional(),
});

/**
 * `idrelay.notification.failed` — a delivery ended without reaching the device: dead-lettered after its attempts, expired before it could be sent,
 * rejected by the push service, or dropped because the token is no longer valid (the device is pruned).
 */
export const NotificationFailed = z.looseObject({
  notificationId: Id,
  deliveryId: Id,
  causedBy: Id,
  userId: Id,
  deviceId: Id,
  platform: Platform,
  attempts: z.int().min(0),
  outcome: z.enum(['dead-letter', 'rejected', 'invalid-token', 'expired']),
  code: z.string().max(128),
  reason: Text.optional(),
});

/** `idrelay.notification.acknowledged` — the recipient acknowledged a critical notice (written back to the directory). */
export const NotificationAcknowledged = z.looseObject({
  notificationId: Id,
  userId: Id,
  deviceId: Id.optional(),
  acknowledgedAt: Timestamp,
  causedBy: Id.optional(),
});

/** `idrelay.notification.opened` — the recipient opened a notification. */
export const NotificationOpened = z.looseObject({
  notificationId: Id,
  userId: Id,
  deviceId: Id.optional(),
  openedAt: Timestamp,
});

/** `idrelay.preference.changed` — a user changed what they receive; the change can be written back to the directory. */
export const PreferenceChanged = z.looseObject({
  userId: Id,
  changes: z
    .array(
      z.looseObject({
        category: z.string().min(1).max(64),
        channel: z.union([Platform, z.literal('*')]),
        enabled: z.boolean(),
      }),
    )
    .max(100),
  quietHours: z
    .looseObject({
      start: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/),
      end: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/),
      timeZone: z.string().min(1).max(64).refine(isTimeZone, 'expected an IANA time zone such as Europe/Berlin'),
    })
    .nullable()
    .optional(),
  origin: z.enum(['device', 'directory', 'api', 'console']),
});
