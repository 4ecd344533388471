import type { ActionTokenStore } from './action-tokens.js';
import type { AuditStore } from './audit-store.js';
import type { DeviceStore } from './devices.js';
import type { DigestStore } from './digests.js';
import type { DirectoryStore } from './directory.js';
import type { EventStore } from './events.js';
import type { FlowStore } from './flows.js';
import type { OutboxStore } from './outbox.js';
import type { OutgoingStore } from './outgoing.js';
import type { PreferenceStore } from './preferences.js';
import type { RetentionStore } from './retention.js';
import type { TimerStore } from './timers.js';

/**
 * Every port the engine needs, from one database. Each port is small enough that an in-memory version is a page
 * of code (`createMemoryStore()` in `@idrelay/testkit`); `@idrelay/store-sqlite` and `@idrelay/store-postgres`
 * implement them all and pass `storeContract()` from `@idrelay/testkit/contracts`. Times are milliseconds since
 * the epoch.
 */
export interface Store {
  /** e.g. `sqlite:.idrelay/relay.db`, `postgres:idrelay@127.0.0.1`. */
  readonly name: string;
  readonly events: EventStore;
  readonly devices: DeviceStore;
  /** Users, groups, memberships and resource approvers (`createStoreDirectory()` in the engine reads them). */
  readonly directory: DirectoryStore;
  readonly preferences: PreferenceStore;
  readonly outbox: OutboxStore;
  readonly outgoing: OutgoingStore;
  readonly actionTokens: ActionTokenStore;
  readonly flows: FlowStore;
  readonly timers: TimerStore;
  readonly digests: DigestStore;
  readonly audit: AuditStore;
  readonly retention: RetentionStore;
  /** Brings the schema to the current version (idempotent; run by the factory unless disabled). */
  migrate(): Promise<{ from: number; to: number }>;
  close(): Promise<void>;
}
