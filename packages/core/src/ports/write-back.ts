import type { EventType } from '../events/catalogue/index.js';
import type { IdentityEvent } from '../events/envelope.js';

/** What a write-back did with one event. */
export type WriteBackResult =
  | { status: 'written'; reference?: string }
  | { status: 'skipped'; reason: string }
  /** `retryable` failures are retried by the relay with backoff; others are recorded and audited. */
  | { status: 'failed'; code: string; reason: string; retryable: boolean };

/**
 * Carries outcomes back to the system of record: decisions to the IAM system (REST, webhook), acknowledgements and
 * preferences to the directory (SCIM PATCH, LDAP modify, OTDS REST).
 */
export interface WriteBack {
  readonly name: string;
  /** The outcome event types this write-back handles, e.g. `idrelay.access.approved`. */
  readonly types: readonly EventType[];
  /** Writes one outcome; must be idempotent on `event.id`, because the relay retries. */
  write(event: IdentityEvent, options?: { signal?: AbortSignal }): Promise<WriteBackResult>;
  close?(): Promise<void>;
}
