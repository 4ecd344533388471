import type { Platform } from '../messages/push-message.js';
import type { Delivery, DeliveryOutcome } from './store/outbox.js';

/** What a {@link DeliveryHandler} is given with a batch. */
export interface DeliveryContext {
  /** Aborted when the batch's claim is about to end or was lost: unanswered sends must stop (fencing). */
  signal: AbortSignal;
  /** `high` for the express lane (sign-in verifications, security alerts), `normal` for bulk. */
  priority: 'high' | 'normal';
}

/** Handles a batch of claimed deliveries of one platform and says how each ended. */
export type DeliveryHandler = (deliveries: readonly Delivery[], context: DeliveryContext) => Promise<DeliveryOutcome[]>;

/** Options of {@link Queue.start}. */
export interface QueueStartOptions {
  /** Bulk batches in flight at once, per platform. */
  concurrency: Partial<Record<Platform, number>>;
  /** Deliveries per batch handed to the handler. */
  batchSize?: number;
}

/**
 * Moves deliveries from the outbox to the transports. The in-process queue claims rows from the store's outbox;
 * `@idrelay/queue-bullmq` carries delivery ids through Redis for many workers. Either way the outbox stays the
 * truth: a job is idempotent, and a lost job is found again by its due time.
 */
export interface Queue {
  readonly name: string;
  /**
   * Tells the queue that deliveries became due at or before `dueAt` (wakes the claimer, or adds jobs); a
   * `priority` at or above the express threshold is claimed at once even while bulk batches fill every slot.
   */
  notify(dueAt: number, priority?: number): void;
  /** Starts consuming with `handler`. */
  start(handler: DeliveryHandler, options: QueueStartOptions): void;
  /** Stops claiming and waits for batches in flight to settle. */
  stop(): Promise<void>;
}
