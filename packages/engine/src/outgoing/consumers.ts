import type { EventType, IdentityEvent, OutgoingInput, WriteBack } from '@idrelay/core';
import { IdrelayError } from '@idrelay/core';

/** Names of the relay's own consumers of the outgoing log start with this; write-backs may not. */
export const INTERNAL_PREFIX = 'idrelay:';

/**
 * The relay's own consumer of follow-up events: an event appended for it in the transaction of a decision (the
 * denial a user reported, the risk it raises) is ingested at least once after that transaction, even across a crash
 * in between; ingesting is idempotent by (source, id).
 */
export const FOLLOW_UP_CONSUMER = 'idrelay:follow-up';

/** Consumers of the outgoing log by name, and which of them want an event type. */
export interface ConsumerRegistry {
  readonly all: ReadonlyMap<string, WriteBack>;
  /** True when some consumer takes `type`: callers skip building events nobody will be sent. */
  wants(type: EventType): boolean;
  /** The outgoing entries of `event` for every consumer that takes its type, ordered by `orderKey`. */
  entriesFor(event: IdentityEvent, orderKey: string): OutgoingInput[];
}

/**
 * Registers the durable consumers (write-backs, later webhook subscribers) by name. Names are the outgoing log's
 * consumer keys, so they must be unique and stable across restarts: renaming one orphans its pending entries.
 *
 * @throws {IdrelayError} `ERR_INVALID_ARGUMENT` for a consumer without a name, or two with the same name.
 * @example
 * ```ts
 * const consumers = createConsumerRegistry([ldapWriteBack]);
 * const entries = consumers.entriesFor(acknowledged, acknowledged.data.userId);
 * ```
 */
export function createConsumerRegistry(
  writeBacks: readonly WriteBack[],
  internal: readonly WriteBack[] = [],
): ConsumerRegistry {
  const all = new Map<string, WriteBack>();
  const byType = new Map<string, string[]>();
  for (const writeBack of writeBacks) {
    if (typeof writeBack?.name === 'string' && writeBack.name.startsWith(INTERNAL_PREFIX)) {
      throw new IdrelayError(
        'ERR_INVALID_ARGUMENT',
        `Write-back names starting with "${INTERNAL_PREFIX}" are the relay's own ("${writeBack.name}").`,
      );
    }
  }
  for (const writeBack of [...writeBacks, ...internal]) {
    if (typeof writeBack?.name !== 'string' || writeBack.name.length === 0 || writeBack.name.length > 200) {
      throw new IdrelayError('ERR_INVALID_ARGUMENT', 'A write-back needs a name of 1-200 characters.');
    }
    if (all.has(writeBack.name)) {
      throw new IdrelayError(
        'ERR_INVALID_ARGUMENT',
        `Two write-backs are named "${writeBack.name}"; names must be unique.`,
      );
    }
    all.set(writeBack.name, writeBack);
    for (const type of writeBack.types) byType.set(type, [...(byType.get(type) ?? []), writeBack.name]);
  }
  return {
    all,
    wants: (type) => byType.has(type),
    entriesFor(event, orderKey) {
      return (byType.get(event.type) ?? []).map((consumer) => ({ consumer, orderKey, event }));
    },
  };
}
