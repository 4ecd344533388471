import {
  type AuditEntryInput,
  createEvent,
  type Delivery,
  type IdentityEvent,
  type Logger,
  type Store,
} from '@idrelay/core';

/**
 * Receives events the relay emits: receipts (`notification.delivered` / `notification.failed`) and `preference.changed`.
 *
 * @example
 * ```ts
 * const listener: RelayListener = (event) => metrics.count(event.type);
 * relay.subscribe(listener);
 * ```
 */
export type RelayListener = (event: IdentityEvent) => void | Promise<void>;

/** A terminal failure of one delivery. */
export interface FailureReceipt {
  delivery: Delivery;
  outcome: 'dead-letter' | 'rejected' | 'invalid-token';
  code: string;
  reason?: string;
}

/**
 * Emits receipts and writes their audit entries. Delivered receipts are audited one entry per batch (the outbox
 * row holds the per-device fact; a hash-chained entry per device would cost more than the send), failures one entry
 * each. Events are only built when someone listens.
 *
 * @example
 * ```ts
 * const receipts = createReceipts({ store, source: '/idrelay/relay', logger, now: () => Date.now() });
 * const stop = receipts.subscribe((event) => console.log(event.type));
 * ```
 */
export function createReceipts(options: { store: Store; source: string; logger: Logger; now(): number }) {
  const listeners = new Set<RelayListener>();

  function emit(events: () => IdentityEvent[]): void {
    if (listeners.size === 0) return;
    for (const event of events()) {
      for (const listener of listeners) {
        try {
          const result = listener(event);
          if (result instanceof Promise) {
            result.catch((error: unknown) => options.logger.warn({ err: error, type: event.type }, 'listener failed'));
          }
        } catch (error) {
          options.logger.warn({ err: error, type: event.type }, 'listener failed');
        }
      }
    }
  }

  const base = (d: Delivery) => ({
    notificationId: d.notificationId,
    deliveryId: d.id,
    causedBy: d.eventKey,
    userId: d.userId,
    deviceId: d.deviceId,
    platform: d.platform,
    attempts: d.attempts,
  });
  const eventOptions = () => ({ source: options.source, time: new Date(options.now()).toISOString() });

  return {
    subscribe(listener: RelayListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Emits an event to listeners (used for `preference.changed`). */
    emit(event: IdentityEvent): void {
      emit(() => [event]);
    },
    async delivered(batch: ReadonlyArray<{ delivery: Delivery; providerMessageId?: string }>): Promise<void> {
      if (batch.length === 0) return;
      emit(() =>
        batch.map(({ delivery, providerMessageId }) =>
          createEvent(
            'idrelay.notification.delivered',
            { ...base(delivery), ...(providerMessageId ? { providerMessageId } : {}) },
            eventOptions(),
          ),
        ),
      );
      const first = batch[0]!.delivery;
      await options.store.audit.append([
        {
          at: options.now(),
          action: 'delivery.delivered',
          actor: 'system',
          target: first.platform,
          details: {
            count: batch.length,
            notifications: [...new Set(batch.map((b) => b.delivery.notificationId))].slice(0, 20),
          },
        },
      ]);
    },
    async failed(failures: readonly FailureReceipt[]): Promise<void> {
      if (failures.length === 0) return;
      emit(() =>
        failures.map((f) =>
          createEvent(
            'idrelay.notification.failed',
            {
              ...base(f.delivery),
              outcome: f.outcome,
              code: f.code,
              ...(f.reason ? { reason: f.reason.slice(0, 1000) } : {}),
            },
            eventOptions(),
          ),
        ),
      );
      const entries: AuditEntryInput[] = failures.map((f) => ({
        at: options.now(),
        action:
          f.outcome === 'invalid-token'
            ? 'device.pruned'
            : f.outcome === 'dead-letter'
              ? 'delivery.dead-lettered'
              : 'delivery.rejected',
        actor: 'system',
        eventRef: f.delivery.eventKey,
        target: f.outcome === 'invalid-token' ? f.delivery.deviceId : f.delivery.id,
        details: { code: f.code, attempts: f.delivery.attempts, platform: f.delivery.platform },
      }));
      await options.store.audit.append(entries);
    },
  };
}

/** Receipts from {@link createReceipts}. */
export type Receipts = ReturnType<typeof createReceipts>;
