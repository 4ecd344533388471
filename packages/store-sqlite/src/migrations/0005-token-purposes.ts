import type { Migration } from './migrate.js';

/**
 * What the response protocol needs of `action_tokens` (docs/protocol.md):
 *
 * - `attempts` counts failed number-matching attempts, incremented by one UPDATE so the limit holds under
 *   concurrency.
 * - `purpose` tells the rows apart: NULL is an action token, `enrolment` a one-time enrolment code, `proof` the
 *   remembered `jti` of a details request (the replay cache). Only hashes are stored for all three.
 * - `action_tokens_device` finds a device's unused tokens when it is unenrolled or its key replaced.
 */
export const tokenPurposes: Migration = {
  version: 5,
  name: 'token-purposes',
  sql: `
    ALTER TABLE action_tokens ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE action_tokens ADD COLUMN purpose TEXT;
    CREATE INDEX action_tokens_device ON action_tokens (device_id) WHERE used_at IS NULL AND revoked_at IS NULL;
  `,
};
