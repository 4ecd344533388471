import type { Migration } from './migrate.js';

/** What an old delivery's target JSON says about its device, as the new address columns. */
const ADDRESS_OF_TARGET = `coalesce(target ->> 'token', target -> 'subscription' ->> 'endpoint', ''),
  target ->> 'topic', target ->> 'environment', target -> 'subscription' -> 'keys' ->> 'p256dh',
  target -> 'subscription' -> 'keys' ->> 'auth'`;

/**
 * The normalised outbox (decisions/0023), the outgoing log, fenced claims and what retention needs.
 *
 * - `notifications` and `messages` hold each notification and each rendered variant once; a `deliveries` row is
 *   integer refs, times and a status (~104 bytes with PostgreSQL's tuple header, against ~500 with the message
 *   and target copied into every row). `deliveries_pair` (notification, device) keeps one delivery per
 *   notification and device and finds a notification's deliveries.
 * - `ready_at` is the due time while pending, the lease end while claimed and NULL once final: `deliveries_ready`
 *   holds only live rows, in claim order per platform and priority; `deliveries_finished` the final ones for
 *   retention.
 * - `devices` get an integer id (what deliveries reference), soft removal (`removed_at`: history keeps where a
 *   push went) and the address as columns, so a claim builds targets without parsing JSON.
 * - Old rows move over: each old notification and each distinct message of it become rows (differing messages of
 *   one notification become variants `migrated-2`, `migrated-3`, …); a device an old delivery went to that is no
 *   longer registered gets a removed tombstone from the delivery's stored target, and its live deliveries are
 *   cancelled; events whose source holds `#` or `%` are re-keyed with core's escaping `eventKey()`. The audit log
 *   is left as it is: its event references are hashed into the chain.
 * - `claim_tokens` numbers every claim (outbox, timers, outgoing log): one `nextval` per claim.
 * - `outgoing` is the durable way out; only the head of each (consumer, order key) carries a `ready_at`.
 */
export const normalisedOutbox: Migration = {
  version: 3,
  name: 'normalised-outbox',
  sql: (s) => `
    -- Events re-keyed with the escaped source, in two steps through keys no real key can have (a leading \\x01),
    -- so a new key never meets an old one still waiting for its own change.
    CREATE TABLE ${s}.event_rekey AS
      SELECT key AS old, replace(replace(source, '%', '%25'), '#', '%23') || '#' || id AS new
      FROM ${s}.events WHERE strpos(source, '%') > 0 OR strpos(source, '#') > 0;
    UPDATE ${s}.events SET key = chr(1) || key WHERE key IN (SELECT old FROM ${s}.event_rekey);
    UPDATE ${s}.events e SET key = r.new FROM ${s}.event_rekey r WHERE e.key = chr(1) || r.old;
    CREATE INDEX events_planned ON ${s}.events (received_at) WHERE status = 'planned';

    ALTER TABLE ${s}.devices RENAME TO devices_v2;
    ALTER INDEX ${s}.devices_pkey RENAME TO devices_v2_pkey;
    ALTER INDEX ${s}.devices_platform_address_key_key RENAME TO devices_v2_address;
    DROP INDEX ${s}.devices_user;
    CREATE TABLE ${s}.devices (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      device_id text NOT NULL UNIQUE,
      user_id text NOT NULL,
      platform text NOT NULL,
      -- The APNs or FCM token, or the Web Push endpoint.
      address text NOT NULL,
      topic text,
      environment text,
      p256dh text,
      auth text,
      public_key text,
      key_algorithm text,
      name text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      removed_at bigint
    );
    INSERT INTO ${s}.devices (device_id, user_id, platform, address, topic, environment, p256dh, auth, public_key,
        key_algorithm, name, created_at, updated_at)
      SELECT device_id, user_id, platform, address_key, address ->> 'topic', address ->> 'environment',
        address -> 'subscription' -> 'keys' ->> 'p256dh', address -> 'subscription' -> 'keys' ->> 'auth',
        public_key, key_algorithm, name, created_at, updated_at
      FROM ${s}.devices_v2 ORDER BY created_at, device_id;
    DROP TABLE ${s}.devices_v2;

    ALTER TABLE ${s}.deliveries RENAME TO deliveries_v2;
    ALTER INDEX ${s}.deliveries_pkey RENAME TO deliveries_v2_pkey;
    DROP INDEX ${s}.deliveries_ready;
    DROP INDEX ${s}.deliveries_event;
    DROP INDEX ${s}.deliveries_live_notification;
    ALTER TABLE ${s}.deliveries_v2 DROP CONSTRAINT deliveries_idempotency_key_key;

    -- A tombstone for each device an old delivery went to that is no longer registered, from its latest target.
    INSERT INTO ${s}.devices (device_id, user_id, platform, address, topic, environment, p256dh, auth, created_at,
        updated_at, removed_at)
      SELECT DISTINCT ON (device_id) device_id, user_id, platform, ${ADDRESS_OF_TARGET}, created_at, updated_at,
        updated_at
      FROM ${s}.deliveries_v2 o WHERE NOT EXISTS (SELECT 1 FROM ${s}.devices v WHERE v.device_id = o.device_id)
      ORDER BY device_id, id DESC;

    CREATE TABLE ${s}.notifications (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      notification_id text NOT NULL UNIQUE,
      event_key text NOT NULL,
      rule_id text NOT NULL,
      created_at bigint NOT NULL
    );
    INSERT INTO ${s}.notifications (notification_id, event_key, rule_id, created_at)
      SELECT DISTINCT ON (notification_id) notification_id, coalesce(r.new, o.event_key), rule_id, created_at
      FROM ${s}.deliveries_v2 o LEFT JOIN ${s}.event_rekey r ON r.old = o.event_key
      ORDER BY notification_id, id;

    CREATE TABLE ${s}.messages (
      id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      notification_ref integer NOT NULL,
      variant text NOT NULL,
      body json NOT NULL,
      created_at bigint NOT NULL,
      UNIQUE (notification_ref, variant)
    );
    -- json has no equality: distinct messages are distinct texts, as the old rows stored them.
    INSERT INTO ${s}.messages (notification_ref, variant, body, created_at)
      SELECT n.id, CASE WHEN v.rank = 1 THEN '' ELSE 'migrated-' || v.rank END, v.body::json, v.created_at
      FROM (SELECT notification_id, message::text AS body, min(id) AS first, min(created_at) AS created_at,
                   row_number() OVER (PARTITION BY notification_id ORDER BY min(id)) AS rank
            FROM ${s}.deliveries_v2 GROUP BY notification_id, message::text) AS v
      JOIN ${s}.notifications n ON n.notification_id = v.notification_id
      ORDER BY v.first;

    -- Eight-byte columns first, then four, then two, then the variable ones: no alignment padding in between.
    CREATE TABLE ${s}.deliveries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      due_at bigint NOT NULL,
      -- When the row can next be claimed: due_at while pending, the lease end while claimed, NULL once final.
      ready_at bigint,
      expires_at bigint,
      claim_token bigint,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      notification_ref integer NOT NULL,
      device_ref integer NOT NULL,
      message_ref integer NOT NULL,
      priority integer NOT NULL,
      attempts integer NOT NULL,
      status text NOT NULL,
      platform text NOT NULL,
      data json,
      last_error_code text,
      last_error_reason text,
      provider_message_id text
    );
    INSERT INTO ${s}.deliveries (id, due_at, ready_at, created_at, updated_at, notification_ref, device_ref,
        message_ref, priority, attempts, status, platform, data, last_error_code, last_error_reason,
        provider_message_id)
      OVERRIDING SYSTEM VALUE
      SELECT o.id, o.due_at, CASE WHEN o.status IN ('pending', 'claimed') THEN o.ready_at END, o.created_at,
        o.updated_at, n.id, v.id, m.id, o.priority, o.attempts, o.status, v.platform, o.target -> 'data',
        o.last_error_code, o.last_error_reason, o.provider_message_id
      FROM ${s}.deliveries_v2 o
      JOIN ${s}.notifications n ON n.notification_id = o.notification_id
      JOIN ${s}.devices v ON v.device_id = o.device_id
      JOIN ${s}.messages m ON m.notification_ref = n.id AND m.body::text = o.message::text
      ORDER BY o.id;
    SELECT setval(pg_get_serial_sequence('${s}.deliveries', 'id'), coalesce(max(id), 0) + 1, false)
      FROM ${s}.deliveries;
    UPDATE ${s}.deliveries SET status = 'cancelled', ready_at = NULL, last_error_code = 'ERR_DEVICE_REMOVED',
        last_error_reason = 'the device was unregistered',
        updated_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint
      WHERE ready_at IS NOT NULL AND device_ref IN (SELECT id FROM ${s}.devices WHERE removed_at IS NOT NULL);
    DROP TABLE ${s}.deliveries_v2;
    DROP TABLE ${s}.event_rekey;

    CREATE UNIQUE INDEX devices_address ON ${s}.devices (platform, address) WHERE removed_at IS NULL;
    CREATE INDEX devices_user ON ${s}.devices (user_id) WHERE removed_at IS NULL;
    CREATE INDEX devices_removed ON ${s}.devices (removed_at) WHERE removed_at IS NOT NULL;
    CREATE INDEX notifications_event ON ${s}.notifications (event_key);
    CREATE INDEX notifications_created ON ${s}.notifications (created_at);
    CREATE INDEX messages_created ON ${s}.messages (created_at);
    CREATE UNIQUE INDEX deliveries_pair ON ${s}.deliveries (notification_ref, device_ref);
    CREATE INDEX deliveries_device ON ${s}.deliveries (device_ref);
    CREATE INDEX deliveries_ready ON ${s}.deliveries (platform, priority DESC, ready_at) WHERE ready_at IS NOT NULL;
    CREATE INDEX deliveries_finished ON ${s}.deliveries (updated_at) WHERE ready_at IS NULL;

    CREATE INDEX action_tokens_finished ON ${s}.action_tokens (coalesce(used_at, revoked_at, expires_at));

    ALTER TABLE ${s}.timers ADD COLUMN claim_token bigint;

    CREATE SEQUENCE ${s}.claim_tokens;

    CREATE TABLE ${s}.outgoing (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      consumer text NOT NULL,
      order_key text NOT NULL,
      event json NOT NULL,
      status text NOT NULL,
      attempts integer NOT NULL,
      due_at bigint NOT NULL,
      -- Set on the head of each (consumer, order key) only: its due time, or its lease end while claimed.
      ready_at bigint,
      claim_token bigint,
      last_error_code text,
      last_error_reason text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL
    );
    CREATE INDEX outgoing_ready ON ${s}.outgoing (consumer, ready_at, id) WHERE ready_at IS NOT NULL;
    CREATE INDEX outgoing_live ON ${s}.outgoing (consumer, order_key, id) WHERE status IN ('pending', 'claimed');
    CREATE INDEX outgoing_consumer ON ${s}.outgoing (consumer, id);
    CREATE INDEX outgoing_finished ON ${s}.outgoing (updated_at) WHERE status IN ('delivered', 'dead');
  `,
};
