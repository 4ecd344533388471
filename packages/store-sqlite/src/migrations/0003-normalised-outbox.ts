import type { Migration } from './migrate.js';

/** Old status words as the integer codes of `status-codes.ts` (a migration never changes, so they are spelled here). */
const STATUS_CODE = `CASE o.status WHEN 'pending' THEN 0 WHEN 'claimed' THEN 1 WHEN 'delivered' THEN 2 WHEN 'failed' THEN 3
  WHEN 'dead' THEN 4 WHEN 'cancelled' THEN 5 ELSE 6 END`;

/** What an old row's target JSON says about its device, as the new address columns. */
const ADDRESS_OF_TARGET = `coalesce(target ->> '$.token', target ->> '$.subscription.endpoint', ''),
  target ->> '$.topic', target ->> '$.environment', target ->> '$.subscription.keys.p256dh',
  target ->> '$.subscription.keys.auth'`;

/**
 * The normalised outbox (decisions/0022), the outgoing log, fenced timers and what retention needs.
 *
 * - `notifications` and `messages` hold each notification and each rendered variant once; a `deliveries` row is
 *   integer refs, times and a status code (~40 bytes). One delivery per (device, notification), enforced by
 *   `deliveries_pair`, which leads with the device: its inserts are random either way, and leading with the device
 *   lets the same index answer "does any delivery reference this device" for retention.
 * - `devices` get an integer id (what deliveries reference), soft removal (`removed_at`: history keeps where a push
 *   went) and the address as columns, so a claim builds targets without parsing JSON.
 * - Old rows move over: each old delivery's notification and message become rows of their own (differing messages
 *   of one notification become variants `migrated-2`, `migrated-3`, …), its device is referenced (a device no
 *   longer registered gets a removed tombstone from the delivery's stored target, and its live deliveries are
 *   cancelled), and events whose source holds `#` or `%` are re-keyed with core's escaping `eventKey()`. The audit
 *   log is left as it is: its event references are hashed into the chain.
 * - `timers` gain `ready_at` (due time, or lease end while claimed) and `claim_token`; `outgoing` is new;
 *   `counters` keeps the high-water mark of claim tokens.
 */
export const normalisedOutbox: Migration = {
  version: 3,
  name: 'normalised-outbox',
  sql: `
    -- Events re-keyed with the escaped source. Two steps, through keys without '#' (no real key lacks one), so a
    -- new key never meets an old one that is still waiting for its own change.
    CREATE TABLE event_rekey (old TEXT PRIMARY KEY, rid INTEGER NOT NULL, new TEXT NOT NULL) WITHOUT ROWID;
    INSERT INTO event_rekey (old, rid, new)
      SELECT key, rowid, replace(replace(source, '%', '%25'), '#', '%23') || '#' || id FROM events
      WHERE instr(source, '%') > 0 OR instr(source, '#') > 0;
    UPDATE events SET key = char(1) || rowid WHERE rowid IN (SELECT rid FROM event_rekey);
    UPDATE events SET key = (SELECT new FROM event_rekey WHERE rid = events.rowid)
      WHERE rowid IN (SELECT rid FROM event_rekey);
    CREATE INDEX events_planned ON events (received_at) WHERE status = 'planned';

    DROP INDEX devices_user;
    ALTER TABLE devices RENAME TO devices_v2;
    CREATE TABLE devices (
      id INTEGER PRIMARY KEY,
      device_id TEXT NOT NULL UNIQUE,
      user_id TEXT NOT NULL,
      platform TEXT NOT NULL,
      -- The APNs or FCM token, or the Web Push endpoint.
      address TEXT NOT NULL,
      topic TEXT,
      environment TEXT,
      p256dh TEXT,
      auth TEXT,
      public_key TEXT,
      key_algorithm TEXT,
      name TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      removed_at INTEGER
    );
    INSERT INTO devices (id, device_id, user_id, platform, address, topic, environment, p256dh, auth, public_key,
        key_algorithm, name, created_at, updated_at)
      SELECT rowid, device_id, user_id, platform, address_key, address ->> '$.topic', address ->> '$.environment',
        address ->> '$.subscription.keys.p256dh', address ->> '$.subscription.keys.auth', public_key, key_algorithm,
        name, created_at, updated_at
      FROM devices_v2 ORDER BY rowid;
    DROP TABLE devices_v2;

    DROP INDEX deliveries_ready;
    DROP INDEX deliveries_event;
    DROP INDEX deliveries_notification;
    ALTER TABLE deliveries RENAME TO deliveries_v2;

    -- A tombstone for each device an old delivery went to that is no longer registered, from its latest target.
    INSERT INTO devices (device_id, user_id, platform, address, topic, environment, p256dh, auth, created_at,
        updated_at, removed_at)
      SELECT device_id, user_id, platform, ${ADDRESS_OF_TARGET}, created_at, updated_at, updated_at
      FROM (SELECT device_id, max(id) AS last, user_id, platform, target, created_at, updated_at
            FROM deliveries_v2 WHERE device_id NOT IN (SELECT device_id FROM devices) GROUP BY device_id)
      ORDER BY last;

    CREATE TABLE notifications (
      id INTEGER PRIMARY KEY,
      notification_id TEXT NOT NULL UNIQUE,
      event_key TEXT NOT NULL,
      rule_id TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    INSERT INTO notifications (notification_id, event_key, rule_id, created_at)
      SELECT notification_id, coalesce((SELECT new FROM event_rekey WHERE old = event_key), event_key), rule_id,
        created_at
      FROM (SELECT notification_id, min(id) AS first, event_key, rule_id, created_at
            FROM deliveries_v2 GROUP BY notification_id)
      ORDER BY first;

    CREATE TABLE messages (
      id INTEGER PRIMARY KEY,
      notification_ref INTEGER NOT NULL,
      variant TEXT NOT NULL,
      body TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      UNIQUE (notification_ref, variant)
    );
    INSERT INTO messages (notification_ref, variant, body, created_at)
      SELECT n.id, CASE WHEN v.rank = 1 THEN '' ELSE 'migrated-' || v.rank END, v.message, v.created_at
      FROM (SELECT notification_id, message, min(id) AS first, min(created_at) AS created_at,
                   row_number() OVER (PARTITION BY notification_id ORDER BY min(id)) AS rank
            FROM deliveries_v2 GROUP BY notification_id, message) AS v
      JOIN notifications n ON n.notification_id = v.notification_id
      ORDER BY v.first;

    -- ready_at: when the row can next be claimed — due_at while pending, the lease end while claimed, NULL once
    -- final. Live rows sit in deliveries_ready in claim order; final ones in deliveries_finished for retention.
    CREATE TABLE deliveries (
      id INTEGER PRIMARY KEY,
      notification_ref INTEGER NOT NULL,
      device_ref INTEGER NOT NULL,
      message_ref INTEGER NOT NULL,
      platform TEXT NOT NULL,
      -- 0 pending, 1 claimed, 2 delivered, 3 failed, 4 dead, 5 cancelled, 6 expired
      status INTEGER NOT NULL,
      priority INTEGER NOT NULL,
      due_at INTEGER NOT NULL,
      ready_at INTEGER,
      expires_at INTEGER,
      attempts INTEGER NOT NULL,
      claim_token INTEGER,
      data TEXT,
      last_error TEXT,
      provider_message_id TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX deliveries_pair ON deliveries (device_ref, notification_ref);
    INSERT INTO deliveries (id, notification_ref, device_ref, message_ref, platform, status, priority, due_at,
        ready_at, attempts, data, last_error, provider_message_id, created_at, updated_at)
      SELECT o.id, n.id, d.id, m.id, o.platform, ${STATUS_CODE}, o.priority, o.due_at, o.ready_at, o.attempts,
        o.target -> '$.data', o.last_error, o.provider_message_id, o.created_at, o.updated_at
      FROM deliveries_v2 o
      JOIN notifications n ON n.notification_id = o.notification_id
      JOIN devices d ON d.device_id = o.device_id
      JOIN messages m ON m.notification_ref = n.id AND m.body = o.message
      WHERE true
      ORDER BY o.id
      ON CONFLICT DO NOTHING;
    UPDATE deliveries SET status = 5, ready_at = NULL,
        last_error = '{"code":"ERR_DEVICE_REMOVED","reason":"the device was unregistered"}',
        updated_at = CAST(unixepoch('subsec') * 1000 AS INTEGER)
      WHERE ready_at IS NOT NULL AND device_ref IN (SELECT id FROM devices WHERE removed_at IS NOT NULL);
    DROP TABLE deliveries_v2;
    DROP TABLE event_rekey;

    CREATE UNIQUE INDEX devices_address ON devices (platform, address) WHERE removed_at IS NULL;
    CREATE INDEX devices_user ON devices (user_id) WHERE removed_at IS NULL;
    CREATE INDEX devices_removed ON devices (removed_at) WHERE removed_at IS NOT NULL;
    CREATE INDEX notifications_event ON notifications (event_key);
    CREATE INDEX notifications_created ON notifications (created_at);
    CREATE INDEX messages_created ON messages (created_at);
    CREATE INDEX deliveries_notification ON deliveries (notification_ref);
    CREATE INDEX deliveries_ready ON deliveries (platform, priority DESC, ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE ready_at IS NULL;

    CREATE INDEX action_tokens_finished ON action_tokens (coalesce(used_at, revoked_at, expires_at));

    DROP INDEX timers_due;
    DROP INDEX timers_flow;
    ALTER TABLE timers RENAME TO timers_v2;
    CREATE TABLE timers (
      id TEXT PRIMARY KEY,
      kind TEXT NOT NULL,
      due_at INTEGER NOT NULL,
      flow_id TEXT,
      payload TEXT NOT NULL,
      -- due_at, or the lease end while claimed
      ready_at INTEGER NOT NULL,
      claim_token INTEGER
    );
    INSERT INTO timers (id, kind, due_at, flow_id, payload, ready_at)
      SELECT id, kind, due_at, flow_id, payload, max(due_at, coalesce(lease_until, 0)) FROM timers_v2;
    DROP TABLE timers_v2;
    CREATE INDEX timers_ready ON timers (ready_at, id);
    CREATE INDEX timers_flow ON timers (flow_id) WHERE flow_id IS NOT NULL;

    -- ready_at is set on the head of each (consumer, order_key) only — its due time, or its lease end while
    -- claimed — so outgoing_ready holds exactly the entries a claim may take.
    CREATE TABLE outgoing (
      id INTEGER PRIMARY KEY,
      consumer TEXT NOT NULL,
      order_key TEXT NOT NULL,
      event TEXT NOT NULL,
      -- 0 pending, 1 claimed, 2 delivered, 3 dead
      status INTEGER NOT NULL,
      attempts INTEGER NOT NULL,
      due_at INTEGER NOT NULL,
      ready_at INTEGER,
      claim_token INTEGER,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX outgoing_ready ON outgoing (consumer, ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX outgoing_live ON outgoing (consumer, order_key) WHERE status IN (0, 1);
    CREATE INDEX outgoing_consumer ON outgoing (consumer);
    CREATE INDEX outgoing_finished ON outgoing (status, updated_at) WHERE status IN (2, 3);

    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    INSERT INTO counters (name, value) VALUES ('claim_token', 0);
  `,
};
