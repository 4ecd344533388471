import type { IdentityEvent, Logger } from '@idrelay/core';

/**
 * Receives events the relay emits, in memory: receipts (`notification.delivered` / `notification.failed`),
 * `preference.changed`. For dashboards and metrics that can afford to miss an event: nothing is kept for a
 * listener that is not subscribed, slow or crashed. What must reach another system goes through a durable
 * consumer (`RelayOptions.writeBacks`), which the outgoing log delivers at least once.
 *
 * @example
 * ```ts
 * const listener: RelayListener = (event) => metrics.count(event.type);
 * relay.subscribe(listener);
 * ```
 */
export type RelayListener = (event: IdentityEvent) => void | Promise<void>;

/** The in-memory event bus behind `relay.subscribe()`; events are only built when someone listens. */
export function createListeners(logger: Logger) {
  const listeners = new Set<RelayListener>();
  return {
    /** True when someone listens, so callers skip building events nobody reads. */
    get active(): boolean {
      return listeners.size > 0;
    },
    subscribe(listener: RelayListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Hands events to every listener; a listener that throws or rejects is logged and the others still run. */
    emit(events: readonly IdentityEvent[]): void {
      for (const event of events) {
        for (const listener of listeners) {
          try {
            const result = listener(event);
            if (result instanceof Promise) {
              result.catch((error: unknown) => logger.warn({ err: error, type: event.type }, 'listener failed'));
            }
          } catch (error) {
            logger.warn({ err: error, type: event.type }, 'listener failed');
          }
        }
      }
    },
  };
}

/** The bus from {@link createListeners}. */
export type Listeners = ReturnType<typeof createListeners>;
