import type { Migration } from './migrate.js';

/**
 * `action_tokens_device` becomes a plain index (was `WHERE used_at IS NULL AND revoked_at IS NULL`). As a partial
 * index, every consumed token left it: one more B-tree change in the UPDATE of every device answer, a hot path.
 * The one query it serves — a device's unused tokens, when the device is unenrolled or its key replaced — reads a
 * few more entries now (the device's used and revoked tokens, until retention removes them).
 */
export const plainDeviceIndex: Migration = {
  version: 6,
  name: 'plain-device-index',
  sql: `
    DROP INDEX action_tokens_device;
    CREATE INDEX action_tokens_device ON action_tokens (device_id);
  `,
};
