import type { Migration } from './migrate.js';

/**
 * The first schema: every port but digests, the same logical tables as `@idrelay/store-sqlite`. Times are
 * `bigint` milliseconds since the epoch. Documents that are only ever read back whole (events, messages,
 * targets, details) are `json`, not `jsonb`: it stores the text as given, which is cheaper to write, and nothing
 * queries inside them (decisions/0021).
 */
export const initial: Migration = {
  version: 1,
  name: 'initial',
  sql: (s) => `
    CREATE TABLE ${s}.events (
      key text PRIMARY KEY,
      source text NOT NULL,
      id text NOT NULL,
      type text NOT NULL,
      status text NOT NULL,
      received_at bigint NOT NULL,
      body json NOT NULL
    );
    CREATE INDEX events_unplanned ON ${s}.events (received_at, key) WHERE status = 'received';

    CREATE TABLE ${s}.rejected_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      received_at bigint NOT NULL,
      code text NOT NULL,
      reason text NOT NULL,
      raw text NOT NULL
    );
    CREATE INDEX rejected_events_received ON ${s}.rejected_events (received_at);

    CREATE TABLE ${s}.devices (
      device_id text PRIMARY KEY,
      user_id text NOT NULL,
      platform text NOT NULL,
      address_key text NOT NULL,
      address json NOT NULL,
      public_key text,
      key_algorithm text,
      name text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      UNIQUE (platform, address_key)
    );
    CREATE INDEX devices_user ON ${s}.devices (user_id);

    CREATE TABLE ${s}.preferences (
      user_id text PRIMARY KEY,
      rules json NOT NULL,
      quiet_hours json,
      updated_at bigint NOT NULL
    );

    -- ready_at is due_at while pending and the lease end while claimed, so one partial index in claim order
    -- finds both due deliveries and expired claims; settled rows leave it and stop costing claims anything.
    CREATE TABLE ${s}.deliveries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      event_key text NOT NULL,
      notification_id text NOT NULL,
      rule_id text NOT NULL,
      user_id text NOT NULL,
      device_id text NOT NULL,
      platform text NOT NULL,
      status text NOT NULL,
      priority integer NOT NULL,
      due_at bigint NOT NULL,
      ready_at bigint NOT NULL,
      lease_until bigint,
      attempts integer NOT NULL,
      message json NOT NULL,
      target json NOT NULL,
      last_error_code text,
      last_error_reason text,
      provider_message_id text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE INDEX deliveries_ready ON ${s}.deliveries (priority DESC, ready_at, id)
      WHERE status IN ('pending', 'claimed');
    CREATE INDEX deliveries_event ON ${s}.deliveries (event_key);
    CREATE INDEX deliveries_live_notification ON ${s}.deliveries (notification_id)
      WHERE status IN ('pending', 'claimed');

    CREATE TABLE ${s}.action_tokens (
      token_hash text PRIMARY KEY,
      notification_id text NOT NULL,
      user_id text NOT NULL,
      device_id text NOT NULL,
      actions json NOT NULL,
      flow_id text,
      code_hash text,
      expires_at bigint NOT NULL,
      created_at bigint NOT NULL,
      used_at bigint,
      revoked_at bigint
    );
    CREATE INDEX action_tokens_notification ON ${s}.action_tokens (notification_id);

    CREATE TABLE ${s}.flows (
      id text PRIMARY KEY,
      kind text NOT NULL,
      key text NOT NULL,
      definition_version integer NOT NULL,
      state text NOT NULL,
      data json NOT NULL,
      transitions integer NOT NULL,
      version integer NOT NULL,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      UNIQUE (kind, key)
    );

    -- ready_at: due_at, or the lease end while a process holds the timer.
    CREATE TABLE ${s}.timers (
      id text PRIMARY KEY,
      kind text NOT NULL,
      due_at bigint NOT NULL,
      ready_at bigint NOT NULL,
      flow_id text,
      payload json NOT NULL,
      lease_until bigint
    );
    CREATE INDEX timers_ready ON ${s}.timers (ready_at, id);
    CREATE INDEX timers_flow ON ${s}.timers (flow_id) WHERE flow_id IS NOT NULL;

    CREATE TABLE ${s}.audit (
      seq bigint PRIMARY KEY,
      at bigint NOT NULL,
      action text NOT NULL,
      actor text NOT NULL,
      event_ref text,
      target text,
      details json,
      prev_hash text NOT NULL,
      hash text NOT NULL
    );
    -- One row: the chain's head. Appenders lock it (SELECT … FOR UPDATE), so appends from any number of
    -- processes queue up behind one another and never fork the chain.
    CREATE TABLE ${s}.audit_head (
      id integer PRIMARY KEY CHECK (id = 1),
      seq bigint NOT NULL,
      hash text NOT NULL
    );
    INSERT INTO ${s}.audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
  `,
};
