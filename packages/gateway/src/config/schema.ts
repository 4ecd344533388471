import { EVENT_TYPES, type EventType } from '@idrelay/core/events';
import { z } from 'zod';

/** What an API key or webhook secret may do: send events, preview them, or administer devices and read state. */
export const SCOPES = ['ingest', 'preview', 'admin'] as const;

/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

const portNumber = (what: string) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` })
    .max(65_535, { error: `expected ${what}` });

const positiveInt = (what: string, max: number) =>
  z
    .number({ error: `expected ${what}` })
    .int({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}` })
    .max(max, { error: `expected ${what}` });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

const scopes = z
  .array(z.enum(SCOPES, { error: `expected one of ${SCOPES.join(', ')}` }))
  .min(1, { error: 'expected at least one scope' })
  .meta({ description: `What the key may do: any of ${SCOPES.join(', ')}.` });

const apiKey = z
  .strictObject({
    id: nonEmpty('a name for the key').max(64).meta({ description: 'Names the key in logs and metrics.' }),
    key: z
      .string()
      .regex(/^idr_[A-Za-z0-9_-]{32,}$/, { error: 'expected idr_ followed by at least 32 base64url characters' })
      .optional()
      .meta({ description: 'The key itself (hashed at load, never kept); prefer `sha256`.' }),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: 'expected 64 lowercase hex characters (SHA-256 of the key)' })
      .optional()
      .meta({ description: 'SHA-256 (hex) of the key, from `idrelay keys api`.' }),
    scopes,
  })
  .refine((k) => (k.key === undefined) !== (k.sha256 === undefined), {
    error: 'expected exactly one of key or sha256',
  });

const webhookSecret = z.strictObject({
  id: nonEmpty('a name for the sender').max(64).meta({ description: 'Names the sender in logs and metrics.' }),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, { error: 'expected whsec_ followed by a base64 secret' })
    .meta({ description: 'The Standard Webhooks signing secret shared with the sender.' }),
  scopes: scopes.default(['ingest']),
});

/** An endpoint that receives chosen event types as signed CloudEvents (`idrelay start` makes each a write-back). */
const subscription = z.strictObject({
  name: z.string().min(1).max(200).optional().meta({
    description: 'Stable name (the outgoing log keeps pending events under it). Default `webhook:<host><path>`.',
  }),
  url: httpUrl.meta({ description: '`https`, or `http` to a loopback host.' }),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, { error: 'expected whsec_ followed by a base64 secret' })
    .meta({ description: 'The Standard Webhooks secret the receiver verifies with.' }),
  types: z
    .array(
      z.string().refine((type): type is EventType => (EVENT_TYPES as readonly string[]).includes(type), {
        error: 'expected an event type of the catalogue, e.g. idrelay.access.approved',
      }),
    )
    .min(1)
    .meta({ description: 'The event types it receives, e.g. `idrelay.access.approved`.' }),
  timeoutMs: z.int().min(100).max(120_000).optional().meta({ description: 'Per-request timeout; default 10 s.' }),
});

const store = z
  .discriminatedUnion(
    'kind',
    [
      z.strictObject({
        kind: z.literal('sqlite'),
        path: nonEmpty('a file path').optional().meta({ description: 'Database file; default `<dataDir>/relay.db`.' }),
      }),
      z.strictObject({
        kind: z.literal('postgres'),
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// URL' })
          .meta({ description: 'Connection string.' }),
      }),
      z.strictObject({ kind: z.literal('memory') }),
    ],
    { error: 'expected kind sqlite, postgres or memory' },
  )
  .meta({
    description:
      '`{ kind: "sqlite", path? }` (default, a file under `dataDir`), `{ kind: "postgres", url }` or `{ kind: "memory" }` (lost on exit).',
  });

const originAndCa = {
  origin: httpUrl
    .optional()
    .meta({ description: 'Send to this origin instead of the vendor’s (a proxy, a stand-in).' }),
  ca: nonEmpty('a file path')
    .optional()
    .meta({ description: 'PEM file of the CA that signs `origin`’s certificate, besides the system roots.' }),
};

const apns = z
  .strictObject({
    keyPath: nonEmpty('the path of the .p8 key').meta({ description: 'The APNs auth key (`AuthKey_XXXX.p8`).' }),
    keyId: z
      .string()
      .regex(/^[A-Z0-9]{10}$/, { error: 'expected the 10-character key id' })
      .meta({ description: 'Key id of the .p8 key.' }),
    teamId: z
      .string()
      .regex(/^[A-Z0-9]{10}$/, { error: 'expected the 10-character team id' })
      .meta({ description: 'Apple developer team id.' }),
    topic: nonEmpty('the app bundle id').meta({ description: 'Default `apns-topic` (the app’s bundle id).' }),
    environment: z
      .enum(['production', 'sandbox'], { error: 'expected production or sandbox' })
      .default('production')
      .meta({ description: 'Which APNs environment.' }),
    ...originAndCa,
  })
  .optional()
  .meta({ description: 'Real APNs credentials; without them iOS devices get the sandbox stand-in.' });

const fcm = z
  .strictObject({
    serviceAccountPath: nonEmpty('the path of the service-account JSON').meta({
      description: 'Firebase service-account key file.',
    }),
    projectId: nonEmpty('a project id').optional().meta({ description: 'Default: the service account’s project.' }),
    ...originAndCa,
  })
  .optional()
  .meta({ description: 'Real FCM credentials; without them Android devices get the sandbox stand-in.' });

const webpush = z
  .strictObject({
    publicKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{86,88}$/, { error: 'expected the base64url uncompressed P-256 public key' })
      .meta({ description: 'VAPID public key (browsers subscribe with it).' }),
    privateKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{42,44}$/, { error: 'expected the base64url P-256 private key' })
      .meta({ description: 'VAPID private key.' }),
    subject: z
      .string()
      .regex(/^(mailto:|https:\/\/)/, { error: 'expected a mailto: or https: URI' })
      .meta({ description: 'VAPID contact (RFC 8292 §2.1).' }),
    ca: originAndCa.ca,
  })
  .optional()
  .meta({ description: 'Real VAPID keys; without them browsers get the sandbox push service.' });

const requests = () => positiveInt('a whole number of requests', 1_000_000);
const burst = (size: number) =>
  requests().default(size).meta({ description: 'Bucket size: requests allowed at once after a quiet spell.' });
/**
 * The gateway's configuration as written in `idrelay.config.ts` (see `defineConfig`) or JSON: one zod schema that
 * validates it at start and renders the configuration reference in docs/gateway.md.
 */
export const configSchema = z.strictObject({
  host: nonEmpty('a host name or address').default('127.0.0.1').meta({ description: 'Address to listen on.' }),
  port: portNumber('a number between 1 and 65535').default(8787).meta({ description: 'Port to listen on.' }),
  publicUrl: httpUrl.optional().meta({
    description:
      'Absolute URL devices reach the gateway at; device proofs are bound to it. Default `http://<host>:<port>`.',
  }),
  dataDir: nonEmpty('a directory path')
    .default('.idrelay')
    .meta({ description: 'Directory (relative to the working directory) for the SQLite file and sandbox keys.' }),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected fatal, error, warn, info, debug, trace or silent',
    })
    .default('info')
    .meta({ description: 'pino log level.' }),
  store: store.optional(),
  apiKeys: z.array(apiKey).default([]).meta({ description: 'API keys: `{ id, sha256 | key, scopes }`.' }),
  webhooks: z
    .strictObject({
      secrets: z.array(webhookSecret).default([]).meta({ description: 'Senders: `{ id, secret, scopes? }`.' }),
      toleranceSeconds: positiveInt('a number of seconds between 1 and 3600', 3600)
        .default(300)
        .meta({ description: 'How far `webhook-timestamp` may be from now.' }),
      subscriptions: z.array(subscription).default([]).meta({
        description:
          'Outbound: endpoints that receive decisions, acknowledgements and chosen event types, signed with Standard Webhooks, through the durable outgoing log: `{ name?, url, secret, types, timeoutMs? }`.',
      }),
    })
    .prefault({}),
  limits: z
    .strictObject({
      eventsBodyBytes: positiveInt('a byte count up to 16 MiB', 16 * 1024 * 1024)
        .default(1024 * 1024)
        .meta({ description: 'Largest `POST /v1/events` body.' }),
      deviceBodyBytes: positiveInt('a byte count up to 1 MiB', 1024 * 1024)
        .default(16 * 1024)
        .meta({ description: 'Largest body of every other route.' }),
      ingest: z
        .strictObject({
          perSecond: requests().default(200).meta({ description: 'Sustained rate: requests per second.' }),
          burst: burst(400),
        })
        .prefault({})
        .meta({
          description: 'Token bucket per API key or webhook sender on `POST /v1/events`.',
        }),
      verifications: z
        .strictObject({
          perMinute: requests().default(6).meta({ description: 'Sustained rate: requests per minute.' }),
          burst: burst(3),
        })
        .prefault({})
        .meta({
          description: 'Token bucket per user on `POST /v1/verifications` (besides the engine’s push limit).',
        }),
    })
    .prefault({}),
  transports: z
    .strictObject({
      sandbox: z
        .boolean({ error: 'expected true or false' })
        .default(true)
        .meta({ description: 'Start in-process stand-ins for platforms without credentials; false disables them.' }),
      apns,
      fcm,
      webpush,
    })
    .prefault({}),
  shutdownTimeoutMs: positiveInt('a number of milliseconds up to 10 minutes', 600_000)
    .default(10_000)
    .meta({ description: 'How long `close()` waits for requests and deliveries in flight.' }),
});

/** The configuration as written: every key optional where a default exists. */
export type GatewayConfigInput = z.input<typeof configSchema>;

/** The configuration after defaults, before paths and keys are resolved. */
export type ParsedConfig = z.output<typeof configSchema>;
