import type { IdentityEvent } from '../events/envelope.js';
import type { DeviceAddress, DeviceTarget, Platform, PushMessage } from '../messages/push-message.js';
import type { AuditEntry, AuditEntryInput } from './audit.js';

/**
 * The narrow persistence ports the engine needs. Each is small enough that an in-memory version is a page of
 * code; `@idrelay/store-sqlite` and `@idrelay/store-postgres` implement them all and pass `storeContract()` from
 * `@idrelay/testkit`. Times are milliseconds since the epoch.
 */

// ── events ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Where an ingested event is in its processing. */
export type EventStatus = 'received' | 'planned';

/** An ingested event, as stored. */
export interface StoredEvent {
  /** `source` + `#` + `id`: the dedupe key (CloudEvents: source and id identify an event). */
  key: string;
  event: IdentityEvent;
  status: EventStatus;
  receivedAt: number;
}

/** Ingested events, for dedupe and for resuming planning after a crash. */
export interface EventStore {
  /** Stores the event unless one with the same source and id exists; `inserted: false` means a duplicate. */
  record(event: IdentityEvent, receivedAt: number): Promise<{ inserted: boolean; key: string }>;
  get(key: string): Promise<StoredEvent | undefined>;
  /** Marks planning finished: every delivery of the event is in the outbox. */
  markPlanned(key: string): Promise<void>;
  /** Events received but not yet planned (a crash happened mid-planning), oldest first. */
  listUnplanned(limit: number): Promise<StoredEvent[]>;
  /** Keeps a rejected input for diagnosis: bad events are recorded, never dropped silently. */
  recordRejected(rejected: { receivedAt: number; code: string; reason: string; raw: string }): Promise<void>;
  /** The most recent rejected inputs, newest first. */
  listRejected(limit: number): Promise<Array<{ receivedAt: number; code: string; reason: string; raw: string }>>;
}

// ── devices ─────────────────────────────────────────────────────────────────────────────────────────────────

/** A registered device. */
export type DeviceRecord = DeviceAddress & {
  userId: string;
  /**
   * The device's enrolled public key (SPKI DER, base64url), which signs action responses; without one the device
   * receives notifications but cannot approve.
   */
  publicKey?: string;
  /** Algorithm of `publicKey`. */
  keyAlgorithm?: 'ES256' | 'Ed25519';
  name?: string;
  createdAt: number;
  updatedAt: number;
};

/** Registered devices. A token (or Web Push endpoint) belongs to at most one device. */
export interface DeviceStore {
  /**
   * Inserts or updates by `deviceId`. A token already held by another device is moved to this one (the other
   * device record is removed and returned in `displaced`), so a reinstalled app never gets pushes twice.
   */
  upsert(device: DeviceRecord): Promise<{ displaced: string[] }>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  listByUser(userId: string): Promise<DeviceRecord[]>;
  /** Devices of many users at once, for fan-out: one query per page of users. */
  listByUsers(userIds: readonly string[]): Promise<DeviceRecord[]>;
  /** Removes a device; `true` when it existed. */
  remove(deviceId: string): Promise<boolean>;
  countByUser(userId: string): Promise<number>;
}

// ── preferences ─────────────────────────────────────────────────────────────────────────────────────────────

/** One opt-in or opt-out: `category` and `channel` may be `*`. The most specific rule wins. */
export interface PreferenceRule {
  category: string;
  channel: Platform | '*';
  enabled: boolean;
}

/** Quiet hours in the user's time zone; `start` may be after `end` (over midnight). */
export interface QuietHours {
  /** `HH:MM`, 24-hour. */
  start: string;
  end: string;
  /** IANA zone, e.g. `Europe/Berlin`. */
  timeZone: string;
}

/** A user's notification preferences. */
export interface UserPreferences {
  userId: string;
  rules: PreferenceRule[];
  quietHours?: QuietHours;
  updatedAt: number;
}

/** Notification preferences per user. */
export interface PreferenceStore {
  get(userId: string): Promise<UserPreferences | undefined>;
  /** Preferences of many users at once, for fan-out. */
  getMany(userIds: readonly string[]): Promise<Map<string, UserPreferences>>;
  put(preferences: UserPreferences): Promise<void>;
}

// ── outbox ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Where a delivery is. `pending` and `claimed` are live; the others are final. */
export type OutboxStatus = 'pending' | 'claimed' | 'delivered' | 'failed' | 'dead' | 'cancelled';

/** A delivery to enqueue: one message to one device. */
export interface NewDelivery {
  /** Unique key, e.g. hash(event key, rule id, device id): enqueueing it twice is a no-op. */
  idempotencyKey: string;
  /** The event that caused it (`StoredEvent.key`). */
  eventKey: string;
  notificationId: string;
  ruleId: string;
  userId: string;
  deviceId: string;
  platform: Platform;
  /** Not before (quiet-hours deferral, retry backoff). */
  dueAt: number;
  message: PushMessage;
  target: DeviceTarget;
  /** Higher first among due deliveries; verification pushes outrank announcements. */
  priority?: number;
}

/** A delivery as stored. */
export interface Delivery extends NewDelivery {
  id: string;
  status: OutboxStatus;
  /** Attempts started, including the one in progress when `claimed`. */
  attempts: number;
  /** A claim is held until then; after it a crashed worker's claim can be taken again. */
  leaseUntil?: number;
  lastError?: { code: string; reason?: string };
  providerMessageId?: string;
  createdAt: number;
  updatedAt: number;
}

/** How a claimed delivery ended, or when to try again. */
export type DeliveryOutcome =
  | { id: string; status: 'delivered'; providerMessageId?: string; at: number }
  | { id: string; status: 'retry'; dueAt: number; error: { code: string; reason?: string }; at: number }
  | { id: string; status: 'failed' | 'dead'; error: { code: string; reason?: string }; at: number };

/** Options of {@link OutboxStore.claim}. */
export interface ClaimOptions {
  limit: number;
  now: number;
  /** How long the claim is held (ms). */
  leaseMs: number;
  /** Only these platforms (per-transport concurrency). */
  platforms?: readonly Platform[];
}

/** The outbox: the truth about every delivery. Deliveries are claimed, settled, retried or dead-lettered. */
export interface OutboxStore {
  /** Inserts deliveries, skipping idempotency keys already present. */
  enqueue(deliveries: readonly NewDelivery[]): Promise<{ inserted: number }>;
  /**
   * Claims due deliveries: `pending` with `dueAt <= now`, or `claimed` whose lease expired. Highest priority, then
   * earliest due, first. Increments `attempts`. Two concurrent claims never return the same delivery. Deliveries of
   * one claim may share one `message` object (stores parse each distinct message once): treat it as read-only.
   */
  claim(options: ClaimOptions): Promise<Delivery[]>;
  /** Records outcomes of claimed deliveries. An outcome for a delivery no longer claimed is ignored. */
  settle(outcomes: readonly DeliveryOutcome[]): Promise<void>;
  /** Cancels live deliveries of a notification (the request was decided elsewhere); returns how many. */
  cancelByNotification(notificationId: string, at: number): Promise<number>;
  get(id: string): Promise<Delivery | undefined>;
  listByEvent(eventKey: string): Promise<Delivery[]>;
  /** The earliest `dueAt` (or lease expiry) among live deliveries, for the dispatcher's next wake-up. */
  nextDueAt(): Promise<number | undefined>;
  counts(): Promise<Record<OutboxStatus, number>>;
}

// ── action tokens ───────────────────────────────────────────────────────────────────────────────────────────

/** A single-use token bound to one notification, recipient and device. Only its hash is stored. */
export interface ActionTokenRecord {
  /** SHA-256 of the token, hex. */
  tokenHash: string;
  notificationId: string;
  userId: string;
  deviceId: string;
  /** Decisions this token may carry, e.g. `['approve', 'deny', 'report']`. */
  actions: readonly string[];
  flowId?: string;
  /** Hash of the number-matching code the user must enter, when the push uses number matching. */
  codeHash?: string;
  expiresAt: number;
  createdAt: number;
}

/** What consuming a token found. */
export type ConsumeResult =
  | { status: 'ok'; record: ActionTokenRecord }
  | { status: 'unknown' }
  | { status: 'used'; record: ActionTokenRecord }
  | { status: 'expired'; record: ActionTokenRecord }
  | { status: 'revoked'; record: ActionTokenRecord };

/** Action tokens. `consume` is atomic: of many concurrent calls with one token, exactly one gets `ok`. */
export interface ActionTokenStore {
  put(record: ActionTokenRecord): Promise<void>;
  consume(tokenHash: string, now: number): Promise<ConsumeResult>;
  /** Revokes the unused tokens of a notification (decided on another device); returns how many. */
  revokeByNotification(notificationId: string, at: number): Promise<number>;
}

// ── flows and timers ────────────────────────────────────────────────────────────────────────────────────────

/** A running flow (an approval, a verification, an onboarding sequence). */
export interface FlowRecord {
  id: string;
  /** Flow definition name, e.g. `access-approval`. */
  kind: string;
  /** The definition version the flow started with; pending work keeps it after the definition changes. */
  definitionVersion: number;
  /** Business key, unique per kind, e.g. the access request id. */
  key: string;
  state: string;
  data: Record<string, unknown>;
  transitions: number;
  /** Row version for optimistic concurrency. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** Flows, updated with optimistic concurrency. */
export interface FlowStore {
  /** Creates a flow; returns the existing one when (`kind`, `key`) is taken (idempotent start). */
  create(flow: Omit<FlowRecord, 'version'>): Promise<{ created: boolean; flow: FlowRecord }>;
  get(id: string): Promise<FlowRecord | undefined>;
  findByKey(kind: string, key: string): Promise<FlowRecord | undefined>;
  /** Applies `patch` when the stored version is `expectedVersion`; throws `ERR_STORE_CONFLICT` otherwise. */
  update(
    id: string,
    expectedVersion: number,
    patch: Partial<Pick<FlowRecord, 'state' | 'data' | 'transitions'>> & { updatedAt: number },
  ): Promise<FlowRecord>;
}

/** A timer: a reminder, an escalation, an expiry, a digest flush, a deferred delivery. */
export interface TimerRecord {
  /** Unique; scheduling an existing id moves it. */
  id: string;
  kind: string;
  dueAt: number;
  flowId?: string;
  payload: Record<string, unknown>;
}

/** Durable timers, claimed like the outbox so one process fires each. */
export interface TimerStore {
  schedule(timer: TimerRecord): Promise<void>;
  /** Claims due timers for `leaseMs`; a timer not completed in time is claimed again. */
  claimDue(now: number, limit: number, leaseMs: number): Promise<TimerRecord[]>;
  complete(ids: readonly string[]): Promise<void>;
  cancel(ids: readonly string[]): Promise<void>;
  cancelByFlow(flowId: string): Promise<number>;
  nextDueAt(): Promise<number | undefined>;
}

// ── digests ─────────────────────────────────────────────────────────────────────────────────────────────────

/** Burst collection for digests: one alert per window per recipient, counts inside. */
export interface DigestStore {
  /** Adds an item to the open window of `key`, opening one ending at `windowEndsAt` when none is open. */
  add(entry: { key: string; windowEndsAt: number; item: Record<string, unknown> }): Promise<{
    opened: boolean;
    count: number;
    windowEndsAt: number;
  }>;
  /** Closes the window of `key` and returns its count and the first `sampleSize` items. */
  take(key: string, sampleSize: number): Promise<{ count: number; items: Record<string, unknown>[] } | undefined>;
}

// ── audit ───────────────────────────────────────────────────────────────────────────────────────────────────

/** The append-only, hash-chained audit log (see `hashAuditEntry`). */
export interface AuditStore {
  /** Appends in order, chaining each entry to the last; concurrent appends never fork the chain. */
  append(entries: readonly AuditEntryInput[]): Promise<AuditEntry[]>;
  /** Entries after `afterSeq`, in order. */
  list(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]>;
  /** The last entry, or undefined when the log is empty. */
  head(): Promise<AuditEntry | undefined>;
}

// ── the store ───────────────────────────────────────────────────────────────────────────────────────────────

/** Every port the engine needs, from one database. */
export interface Store {
  /** e.g. `sqlite:.idrelay/relay.db`, `postgres:idrelay@127.0.0.1`. */
  readonly name: string;
  readonly events: EventStore;
  readonly devices: DeviceStore;
  readonly preferences: PreferenceStore;
  readonly outbox: OutboxStore;
  readonly actionTokens: ActionTokenStore;
  readonly flows: FlowStore;
  readonly timers: TimerStore;
  readonly digests: DigestStore;
  readonly audit: AuditStore;
  /** Brings the schema to the current version (idempotent; run by the factory unless disabled). */
  migrate(): Promise<{ from: number; to: number }>;
  close(): Promise<void>;
}
