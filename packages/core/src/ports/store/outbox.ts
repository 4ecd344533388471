import type { DeviceTarget, Platform, PushMessage } from '../../messages/push-message.js';
import type { OutgoingInput } from './outgoing.js';

/**
 * Where a delivery is. `pending` and `claimed` are live; the others are final: `cancelled` (withdrawn, or its
 * device was removed) and `expired` (its `expiresAt` passed before it could be sent) were never sent.
 */
export type OutboxStatus = 'pending' | 'claimed' | 'delivered' | 'failed' | 'dead' | 'cancelled' | 'expired';

/**
 * A delivery to enqueue: one notification to one device. A notification reaches each device at most once:
 * enqueueing the same (`notificationId`, `deviceId`) again is a no-op, so a re-planned event inserts only what
 * is missing.
 */
export interface NewDelivery {
  /** The event that caused it (`StoredEvent.key`). */
  eventKey: string;
  notificationId: string;
  ruleId: string;
  userId: string;
  deviceId: string;
  platform: Platform;
  /** Not before (quiet-hours deferral). */
  dueAt: number;
  /**
   * Never sent after this instant (a sign-in verification expires; an announcement may not): a delivery claimed
   * later settles `expired`, and transports give the push service the remaining lifetime.
   */
  expiresAt?: number;
  /** Higher first among due deliveries; verification pushes outrank announcements. Default 0. */
  priority?: number;
  /**
   * The rendered message. Stores keep one copy per (`notificationId`, `variant`): a fan-out to a million devices
   * writes a million small rows, not a million messages. The first copy stored for a variant wins.
   */
  message: PushMessage;
  /** Which rendering of the notification `message` is: the locale it was rendered for. Default `''`. */
  variant?: string;
  /** Per-device data merged over `message.data` when sent (an action token bound to this device). */
  data?: Readonly<Record<string, string>>;
}

/** A delivery as stored, with its message and its device's current address resolved. */
export interface Delivery {
  /** Store-assigned; opaque to callers. */
  id: string;
  eventKey: string;
  notificationId: string;
  ruleId: string;
  userId: string;
  deviceId: string;
  platform: Platform;
  dueAt: number;
  expiresAt?: number;
  priority: number;
  /** Shared by every delivery of one claim with the same message: treat it as read-only. */
  message: PushMessage;
  variant: string;
  /** The device's address (as of the claim, or of the read), with the delivery's per-device `data`. */
  target: DeviceTarget;
  status: OutboxStatus;
  /** Attempts started, including the one in progress when `claimed`. */
  attempts: number;
  /**
   * The fencing token of the claim that holds the delivery (or last held it). Every claim gets a new one; an
   * outcome or a lease extension is applied only while its token still owns the row.
   */
  claimToken?: number;
  /** The claim is held until then; after it another worker may claim the delivery again. */
  leaseUntil?: number;
  lastError?: { code: string; reason?: string };
  providerMessageId?: string;
  createdAt: number;
  updatedAt: number;
}

/** What every outcome carries. */
interface OutcomeBase {
  id: string;
  /** The `claimToken` the delivery was claimed with. */
  claimToken: number;
  at: number;
  /**
   * Appended to the outgoing log in the same transaction, only when this outcome is applied (a stale outcome
   * emits nothing): receipts for the subscribers that asked for them.
   */
  emit?: readonly OutgoingInput[];
}

/** How a claimed delivery ended, or when to try again. */
export type DeliveryOutcome = OutcomeBase &
  (
    | { status: 'delivered'; providerMessageId?: string }
    | { status: 'retry'; dueAt: number; error: { code: string; reason?: string } }
    | { status: 'failed' | 'dead'; error: { code: string; reason?: string } }
    | { status: 'expired' | 'cancelled'; error?: { code: string; reason?: string } }
  );

/** What {@link OutboxStore.settle} (and other fenced writes) did. */
export interface SettleResult {
  /** Outcomes applied. */
  settled: number;
  /**
   * Ids whose claim no longer owns the row (the lease ran out and another worker claimed it, or it was settled or
   * cancelled meanwhile): nothing was changed for them. The worker that holds the row now decides its fate.
   */
  stale: string[];
}

/** Options of {@link OutboxStore.claim}. */
export interface ClaimOptions {
  limit: number;
  now: number;
  /** How long the claim is held (ms). */
  leaseMs: number;
  /** Only these platforms (per-transport concurrency). */
  platforms?: readonly Platform[];
  /** Only deliveries of at least this priority: the express lane that keeps verifications ahead of bulk. */
  minPriority?: number;
}

/** The outbox: the truth about every delivery. Deliveries are claimed, settled, retried or dead-lettered. */
export interface OutboxStore {
  /**
   * Inserts deliveries, skipping (`notificationId`, `deviceId`) pairs already present and devices that are not
   * registered (any more). `inserted` counts the new rows.
   */
  enqueue(deliveries: readonly NewDelivery[]): Promise<{ inserted: number }>;
  /**
   * Claims due deliveries: `pending` with `dueAt <= now`, or `claimed` whose lease ended. Highest priority, then
   * earliest due, first. Increments `attempts` and gives the whole claim one new `claimToken`. Two concurrent
   * claims never return the same delivery. Deliveries whose device was removed are settled `cancelled` by the
   * claim and not returned; expired ones are returned (the caller settles them `expired`, so it can audit them).
   */
  claim(options: ClaimOptions): Promise<Delivery[]>;
  /**
   * Moves the lease of deliveries still held by `claimToken` to `leaseUntil` (a batch still in flight); returns
   * the ids it no longer holds.
   */
  extendLease(ids: readonly string[], claimToken: number, leaseUntil: number): Promise<{ lost: string[] }>;
  /**
   * Records outcomes of claimed deliveries, each only while its `claimToken` still owns the row (fencing): a
   * late outcome from a worker whose lease ran out changes nothing and is reported in `stale`.
   */
  settle(outcomes: readonly DeliveryOutcome[]): Promise<SettleResult>;
  /** Cancels live deliveries of a notification (the request was decided elsewhere); returns how many. */
  cancelByNotification(notificationId: string, at: number): Promise<number>;
  get(id: string): Promise<Delivery | undefined>;
  listByEvent(eventKey: string): Promise<Delivery[]>;
  /** The earliest `dueAt` (or lease end) among live deliveries, for the dispatcher's next wake-up. */
  nextDueAt(): Promise<number | undefined>;
  counts(): Promise<Record<OutboxStatus, number>>;
}
