import type { Platform } from '../messages/push-message.js';
import type { Delivery, DeliveryOutcome } from './store/outbox.js';

/** Handles a batch of claimed deliveries of one platform and says how each ended. */
export type DeliveryHandler = (deliveries: readonly Delivery[]) => Promise<DeliveryOutcome[]>;

/** Options of {@link Queue.start}. */
export interface QueueStartOptions {
  /** Batches in flight at once, per platform. */
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
  /** Tells the queue that deliveries became due at or before `dueAt` (wakes the claimer, or adds jobs). */
  notify(dueAt: number): void;
  /** Starts consuming with `handler`. */
  start(handler: DeliveryHandler, options: QueueStartOptions): void;
  /** Stops claiming and waits for batches in flight to settle. */
  stop(): Promise<void>;
}
