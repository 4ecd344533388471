import { EnvelopeSchema } from '@idrelay/core/events';
import { z } from 'zod';

const id = (what: string) => z.string().min(1).max(512).meta({ description: what });

/** A CloudEvents 1.0 envelope as idrelay takes it (the engine validates `data` against the event type). */
export const cloudEventSchema = EnvelopeSchema.meta({
  id: 'CloudEvent',
  description: 'A CloudEvents 1.0 event in structured JSON form; `data` must match the schema of `type`.',
});

/** The body of `POST /v1/events`: one event or a batch (JSON array). */
export const eventsBodySchema = z.union([cloudEventSchema, z.array(cloudEventSchema).min(1).max(1000)]);

const subscription = z.strictObject({
  endpoint: z.url({ protocol: /^https$/ }).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({ p256dh: z.string().min(1).max(256), auth: z.string().min(1).max(64) }),
});

const publicKey = z
  .union([
    z.string().min(16).max(1024).meta({ description: 'SPKI DER, base64url' }),
    z.looseObject({ kty: z.string(), crv: z.string().optional(), x: z.string().optional(), y: z.string().optional() }),
  ])
  .meta({ description: 'The key made on the device: a public JWK (RFC 7517) or SPKI DER in base64url.' });

const enrolBase = {
  code: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .meta({ description: 'The one-time enrolment code; or send `Authorization: Bearer <token>`.' }),
  deviceId: id('Stable id the app chose for this installation.'),
  name: z.string().max(200).optional(),
  publicKey,
  algorithm: z.enum(['ES256', 'Ed25519']),
};

/** `POST /v1/devices/enrol` (docs/protocol.md §2). */
export const enrolBodySchema = z
  .discriminatedUnion('platform', [
    z.strictObject({
      ...enrolBase,
      platform: z.literal('apns'),
      token: z.string().min(8).max(4096),
      topic: z.string().max(256).optional(),
      environment: z.enum(['production', 'sandbox']).optional(),
    }),
    z.strictObject({ ...enrolBase, platform: z.literal('fcm'), token: z.string().min(8).max(4096) }),
    z.strictObject({ ...enrolBase, platform: z.literal('webpush'), subscription }),
  ])
  .meta({ id: 'Enrolment' });

/** `POST /v1/enrolment-codes`. */
export const enrolmentCodeBodySchema = z
  .strictObject({
    userId: id('The user the code enrols a device for.'),
    ttlMs: z.int().min(1_000).max(86_400_000).optional().meta({ description: 'Lifetime; default 10 minutes.' }),
  })
  .meta({ id: 'EnrolmentCodeRequest' });

/** `PATCH /v1/devices/{deviceId}`: a rotated token or subscription, a new name or key. */
export const devicePatchSchema = z
  .strictObject({
    name: z.string().max(200).optional(),
    publicKey: z.string().min(16).max(1024).optional(),
    keyAlgorithm: z.enum(['ES256', 'Ed25519']).optional(),
    token: z.string().min(8).max(4096).optional(),
    topic: z.string().max(256).optional(),
    environment: z.enum(['production', 'sandbox']).optional(),
    subscription: subscription.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: 'expected at least one field to change' })
  .meta({ id: 'DevicePatch' });

/** `POST /v1/verifications`. */
export const verificationBodySchema = z
  .strictObject({
    userId: id('The user signing in.').optional(),
    subject: z
      .looseObject({ format: z.string() })
      .optional()
      .meta({ description: 'Instead of `userId`: an RFC 9493 subject identifier the directory resolves.' }),
    application: z.union([
      z.string().min(1).max(200),
      z.strictObject({ id: z.string().min(1).max(200), name: z.string().max(200).optional() }),
    ]),
    ip: z.string().max(64).optional().meta({ description: 'The sign-in’s client IP.' }),
    location: z
      .strictObject({
        city: z.string().max(100).optional(),
        region: z.string().max(100).optional(),
        country: z.string().max(100).optional(),
      })
      .optional(),
    userAgent: z.string().max(512).optional(),
    ttlMs: z.int().min(60_000).max(120_000).optional(),
    code: z
      .string()
      .regex(/^\d{3,8}$/)
      .optional()
      .meta({ description: 'A code the sign-in screen already shows (CIBA binding message).' }),
  })
  .refine((v) => (v.userId === undefined) !== (v.subject === undefined), {
    error: 'expected exactly one of userId or subject',
  })
  .meta({ id: 'VerificationRequest' });

/** `POST /v1/actions` (docs/protocol.md §6). */
export const actionBodySchema = z
  .strictObject({
    token: z.string().max(512).meta({ description: 'The action token from the push (`tok`).' }),
    proof: z.string().max(8192).meta({ description: 'Compact JWS signed by the device key (docs/protocol.md §4).' }),
  })
  .meta({ id: 'ActionResponse' });

/** `GET /v1/deliveries` query. */
export const deliveriesQuerySchema = z
  .strictObject({
    event: z.string().min(1).max(3000).optional().meta({ description: 'The event key (`<source>#<id>`).' }),
    source: z.string().min(1).max(2048).optional().meta({ description: 'With `id`, instead of `event`.' }),
    id: z.string().min(1).max(512).optional(),
  })
  .refine((q) => (q.event !== undefined) !== (q.source !== undefined && q.id !== undefined), {
    error: 'expected event, or source and id',
  });

/** `POST /v1/preview` query. */
export const previewQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).optional().meta({ description: 'Recipients listed at most.' }),
});

/** Path parameters, by name. */
export const pathParams = {
  deviceId: id('A device id.'),
  userId: id('A user id.'),
  flowId: id('A flow id.'),
  verificationId: id('A verification id.'),
  notificationId: id('A notification id (`nid` of the push).'),
} as const;

/** An RFC 9457 problem document with idrelay's code. */
export const problemSchema = z
  .object({
    type: z.string().meta({ description: '`urn:idrelay:error:<code>`' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string().meta({ description: 'idrelay’s error code, e.g. `ERR_AUTH_INVALID`.' }),
    attemptsLeft: z.int().optional(),
    retryAfterMs: z.int().optional(),
    index: z.int().optional().meta({ description: 'In a refused batch: the event at fault.' }),
    issues: z.array(z.object({ path: z.string(), message: z.string(), code: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

const plannedNotification = z.object({
  notificationId: z.string(),
  ruleId: z.string(),
  category: z.string(),
  recipients: z.int(),
  deliveries: z.int(),
  deferred: z.int(),
  suppressed: z.int(),
});

/** What ingesting one event planned. */
export const ingestResultSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    eventKey: z.string(),
    status: z.enum(['planned', 'duplicate', 'resumed']),
    deliveries: z.int(),
    notifications: z.array(plannedNotification),
  })
  .meta({ id: 'IngestResult' });

/** The answer of `POST /v1/events`. */
export const ingestAnswerSchema = z.object({ results: z.array(ingestResultSchema) }).meta({ id: 'IngestAnswer' });

/** A device as the API shows it: never its push token, subscription or key material. */
export const deviceViewSchema = z
  .object({
    deviceId: z.string(),
    userId: z.string(),
    platform: z.enum(['apns', 'fcm', 'webpush']),
    name: z.string().optional(),
    keyAlgorithm: z.enum(['ES256', 'Ed25519']).optional(),
    enrolled: z.boolean().meta({ description: 'True when the device has a key and can answer.' }),
    createdAt: z.int(),
    updatedAt: z.int(),
  })
  .meta({ id: 'Device' });

/** A delivery as `GET /v1/deliveries` lists it. */
export const deliveryViewSchema = z
  .object({
    id: z.string(),
    notificationId: z.string(),
    ruleId: z.string(),
    userId: z.string(),
    deviceId: z.string(),
    platform: z.enum(['apns', 'fcm', 'webpush']),
    status: z.string(),
    attempts: z.int(),
    dueAt: z.int(),
    lastError: z.object({ code: z.string(), reason: z.string().optional() }).optional(),
    updatedAt: z.int(),
  })
  .meta({ id: 'Delivery' });

/** Any JSON object, for answers documented in prose (flows, previews). */
export const objectSchema = z.looseObject({});
