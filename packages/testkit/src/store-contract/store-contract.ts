import type { Store } from '@idrelay/core';
import { describe } from 'vitest';
import { describeDirectory } from './directory.js';
import { describeEventsDevicesPreferences } from './events-devices-preferences.js';
import type { StoreMigrationHooks } from './fixtures.js';
import { useFreshStore } from './fixtures.js';
import { describeLifecycle } from './lifecycle.js';
import { describeOutbox } from './outbox.js';
import { describeOutboxModel } from './outbox-model.js';
import { describeOutgoingAndRetention } from './outgoing-retention.js';
import { describeTimersDigestsAudit } from './timers-digests-audit.js';
import { describeTokensAndFlows } from './tokens-flows.js';

/**
 * Options of {@link storeContract}.
 *
 * @example
 * ```ts
 * const options: StoreContractOptions = {
 *   name: 'postgres',
 *   create: () => createPostgresStore({ connectionString: url, schema: randomSchemaName() }),
 *   cleanup: (store) => dropSchemaOf(store),
 *   concurrency: 20,
 * };
 * storeContract(options);
 * ```
 */
export interface StoreContractOptions {
  /** Shown in the suite title, e.g. `sqlite (memory)`. */
  name: string;
  /**
   * Opens a migrated store over an EMPTY database, once per test: a fresh file, a fresh schema, or truncated
   * tables. Counts, wake-up times and the audit chain are checked absolutely, so no leftovers may be visible.
   */
  create: () => Promise<Store>;
  /** Runs after the suite closed a store (remove a temp file, drop a schema). */
  cleanup?: (store: Store) => Promise<void>;
  /** Hooks for the migration checks; see {@link StoreMigrationHooks}. */
  migrations?: StoreMigrationHooks;
  /**
   * How many calls the concurrency checks fire at once (claims, token consumes, flow updates, audit appends).
   * Default 50. A pooled store should allow at least a few connections so the calls really overlap.
   */
  concurrency?: number;
}

/**
 * The behaviour every idrelay {@link Store} must show, as one vitest suite: event dedupe by source and id,
 * unplanned and rejected events; devices with tokens that move between installs; preferences; the directory
 * (users replaced whole with the record before, subject identifiers unique by canonical key, lookups by any
 * subject key, keyset paging in code-point order that never repeats or skips, attribute filters that match every
 * key and any value on active users only, reports, direct members of several groups, idempotent memberships that
 * refuse unknown ids, nesting edges both ways with cycles, approvers, cascades on removal, ids with quotes, `%`,
 * spaces and emoji, 10,000-id lookups); the outbox
 * (one delivery per notification and device, one message per variant, the device's current address at claim
 * time, claim order by priority then due time, an express lane by priority, leases that expire, concurrent
 * claims that never share a delivery, fenced settles and lease extensions, settle as delivered / retry / failed /
 * dead / expired / cancelled with outgoing entries only for applied outcomes, cancellation, wake-up time,
 * counts); the outgoing log (at least once, in order per key, fenced, dead letters and redrive); retention in
 * bounded batches; single-use action tokens under concurrency, expiry and revocation; flows with idempotent
 * start and optimistic concurrency; fenced timers with leases; digest windows; an audit chain that verifies with
 * `verifyAuditChain` and does not fork under concurrent appends; migrations from empty and from the previous
 * version (old deliveries still claimable); `close()`.
 *
 * Call it at the top level of a test file; it declares one `describe` block. vitest is a peer dependency.
 *
 * @example
 * ```ts
 * import { storeContract } from '@idrelay/testkit';
 * import { createSqliteStore } from '@idrelay/store-sqlite';
 *
 * storeContract({
 *   name: 'sqlite (memory)',
 *   create: () => createSqliteStore({ path: ':memory:' }),
 *   migrations: { openEmpty: () => createSqliteStore({ path: ':memory:', migrate: false }) },
 * });
 * ```
 */
export function storeContract(options: StoreContractOptions): void {
  describe(`store contract: ${options.name}`, () => {
    const ctx = useFreshStore(options.create, options.cleanup, options.concurrency ?? 50);
    describeEventsDevicesPreferences(ctx);
    describeDirectory(ctx);
    describeOutbox(ctx);
    describeOutboxModel(ctx);
    describeOutgoingAndRetention(ctx);
    describeTokensAndFlows(ctx);
    describeTimersDigestsAudit(ctx);
    describeLifecycle(ctx, options.migrations ?? {}, options.cleanup);
  });
}
