import type { Migration } from './migrate.js';

/**
 * The first schema: every port but digests. Times are integer milliseconds since the epoch; JSON columns hold
 * what is only ever read back whole (messages, targets, details). The outbox has as few indexes as its queries
 * allow, and none on `status`: every index a status change touches costs each delivery several b-tree writes
 * over its life, and the dispatch rate is what the embedded store is chosen for.
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: `
    CREATE TABLE events (
      key TEXT PRIMARY KEY,
      source TEXT NOT NULL,
      id TEXT NOT NULL,
      type TEXT NOT NULL,
      status TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      body TEXT NOT NULL
    );
    CREATE INDEX events_unplanned ON events (received_at) WHERE status = 'received';

    CREATE TABLE rejected_events (
      id INTEGER PRIMARY KEY,
      received_at INTEGER NOT NULL,
      code TEXT NOT NULL,
      reason TEXT NOT NULL,
      raw TEXT NOT NULL
    );
    CREATE INDEX rejected_events_received ON rejected_events (received_at);

    CREATE TABLE devices (
      device_id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      platform TEXT NOT NULL,
      address_key TEXT NOT NULL,
      address TEXT NOT NULL,
      public_key TEXT,
      key_algorithm TEXT,
      name TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (platform, address_key)
    );
    CREATE INDEX devices_user ON devices (user_id);

    CREATE TABLE preferences (
      user_id TEXT PRIMARY KEY,
      rules TEXT NOT NULL,
      quiet_hours TEXT,
      updated_at INTEGER NOT NULL
    );

    -- ready_at: when the row can next be claimed. due_at while pending, the lease end while claimed, NULL once
    -- final. One partial index on it serves claims, lease expiry and the wake-up time, and settled rows leave it.
    CREATE TABLE deliveries (
      id INTEGER PRIMARY KEY,
      idempotency_key TEXT NOT NULL UNIQUE,
      event_key TEXT NOT NULL,
      notification_id TEXT NOT NULL,
      rule_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      platform TEXT NOT NULL,
      status TEXT NOT NULL,
      priority INTEGER NOT NULL,
      due_at INTEGER NOT NULL,
      ready_at INTEGER,
      attempts INTEGER NOT NULL,
      message TEXT NOT NULL,
      target TEXT NOT NULL,
      last_error TEXT,
      provider_message_id TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX deliveries_ready ON deliveries (priority DESC, ready_at, id) WHERE ready_at IS NOT NULL;
    CREATE INDEX deliveries_event ON deliveries (event_key);
    CREATE INDEX deliveries_notification ON deliveries (notification_id);

    CREATE TABLE action_tokens (
      token_hash TEXT PRIMARY KEY,
      notification_id TEXT NOT NULL,
      user_id TEXT NOT NULL,
      device_id TEXT NOT NULL,
      actions TEXT NOT NULL,
      flow_id TEXT,
      code_hash TEXT,
      expires_at INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      used_at INTEGER,
      revoked_at INTEGER
    );
    CREATE INDEX action_tokens_notification ON action_tokens (notification_id);

    CREATE TABLE flows (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      definition_version INTEGER NOT NULL,
      state TEXT NOT NULL,
      data TEXT NOT NULL,
      transitions INTEGER NOT NULL,
      version INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      UNIQUE (kind, key)
    );

    CREATE TABLE timers (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      due_at INTEGER NOT NULL,
      flow_id TEXT,
      payload TEXT NOT NULL,
      lease_until INTEGER
    );
    CREATE INDEX timers_due ON timers (due_at, id);
    CREATE INDEX timers_flow ON timers (flow_id) WHERE flow_id IS NOT NULL;

    CREATE TABLE audit (
      seq INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      action TEXT NOT NULL,
      actor TEXT NOT NULL,
      event_ref TEXT,
      target TEXT,
      details TEXT,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    );
  `,
};
