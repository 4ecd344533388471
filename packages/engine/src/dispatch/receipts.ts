import type { AuditEntryInput, AuditStore, Delivery, IdentityEvent, OutgoingInput } from '@idrelay/core';
import type { ConsumerRegistry } from '../outgoing/consumers.js';
import type { Listeners } from '../outgoing/listeners.js';

/** How one delivery ended, as a receipt tells it. */
export type ReceiptKind = 'delivered' | 'dead-letter' | 'rejected' | 'invalid-token' | 'expired';

/** One delivery's ending, before it is settled. */
export interface Receipt {
  delivery: Delivery;
  kind: ReceiptKind;
  code?: string;
  reason?: string;
  providerMessageId?: string;
}

/** What the receipts stage needs. */
export interface ReceiptsOptions {
  audit: Pick<AuditStore, 'append'>;
  listeners: Listeners;
  consumers: ConsumerRegistry;
  /** CloudEvents `source` of the receipts. */
  source: string;
  now(): number;
}

/**
 * Receipts: `notification.delivered` and `notification.failed` events for each delivery that ended, and their
 * audit entries. For durable consumers the receipt joins the outgoing log in the same transaction as the
 * delivery's settle ({@link Receipts.emitFor}); listeners and the audit get it after the settle applied
 * ({@link Receipts.settled}), so a late outcome that the fence refused is never reported. Delivered and expired
 * deliveries are audited one entry per batch (the outbox row holds the per-device fact; a hash-chained entry per
 * device would cost more than the send), failures one entry each. Events are only built when someone takes them.
 *
 * @example
 * ```ts
 * const receipts = createReceipts({ audit: store.audit, listeners, consumers, source: '/idrelay/relay', now });
 * outcome.emit = receipts.emitFor({ delivery, kind: 'delivered' });
 * ```
 */
export function createReceipts(options: ReceiptsOptions) {
  function event(receipt: Receipt): IdentityEvent {
    const d = receipt.delivery;
    const base = {
      notificationId: d.notificationId,
      deliveryId: d.id,
      causedBy: d.eventKey,
      userId: d.userId,
      deviceId: d.deviceId,
      platform: d.platform,
      attempts: Math.max(1, d.attempts),
    };
    // Built by hand rather than through the schema: every field comes from the store, and this runs per delivery.
    // The id is stable for one claim, so a consumer that dedupes by id sees a re-sent receipt once.
    const common = {
      specversion: '1.0' as const,
      id: `receipt-${d.id}-${d.claimToken ?? 0}`,
      source: options.source,
      time: new Date(options.now()).toISOString(),
      datacontenttype: 'application/json' as const,
      subject: d.notificationId,
    };
    if (receipt.kind === 'delivered') {
      return {
        ...common,
        type: 'idrelay.notification.delivered',
        data: { ...base, ...(receipt.providerMessageId ? { providerMessageId: receipt.providerMessageId } : {}) },
      };
    }
    return {
      ...common,
      type: 'idrelay.notification.failed',
      data: {
        ...base,
        outcome: receipt.kind,
        code: receipt.code ?? 'ERR_DELIVERY_DEAD',
        ...(receipt.reason ? { reason: receipt.reason.slice(0, 1_000) } : {}),
      },
    };
  }

  const typeOf = (kind: ReceiptKind) =>
    kind === 'delivered' ? 'idrelay.notification.delivered' : 'idrelay.notification.failed';

  return {
    /** The outgoing entries of a receipt, for the consumers that take it; undefined when none does. */
    emitFor(receipt: Receipt): OutgoingInput[] | undefined {
      if (!options.consumers.wants(typeOf(receipt.kind))) return undefined;
      return options.consumers.entriesFor(event(receipt), receipt.delivery.userId);
    },
    /** Tells listeners and the audit log about receipts whose outcome was applied. */
    async settled(receipts: readonly Receipt[]): Promise<void> {
      if (receipts.length === 0) return;
      if (options.listeners.active) options.listeners.emit(receipts.map(event));
      const at = options.now();
      const entries: AuditEntryInput[] = [];
      for (const kind of ['delivered', 'expired'] as const) {
        const batch = receipts.filter((r) => r.kind === kind);
        if (batch.length === 0) continue;
        entries.push({
          at,
          action: kind === 'delivered' ? 'delivery.delivered' : 'delivery.expired',
          actor: 'system',
          target: batch[0]!.delivery.platform,
          details: {
            count: batch.length,
            notifications: [...new Set(batch.map((r) => r.delivery.notificationId))].slice(0, 20),
          },
        });
      }
      for (const r of receipts) {
        if (r.kind === 'delivered' || r.kind === 'expired') continue;
        entries.push({
          at,
          action:
            r.kind === 'invalid-token'
              ? 'device.pruned'
              : r.kind === 'dead-letter'
                ? 'delivery.dead-lettered'
                : 'delivery.rejected',
          actor: 'system',
          eventRef: r.delivery.eventKey,
          target: r.kind === 'invalid-token' ? r.delivery.deviceId : r.delivery.id,
          details: { code: r.code, attempts: r.delivery.attempts, platform: r.delivery.platform },
        });
      }
      await options.audit.append(entries);
    },
  };
}

/** Receipts from {@link createReceipts}. */
export type Receipts = ReturnType<typeof createReceipts>;
