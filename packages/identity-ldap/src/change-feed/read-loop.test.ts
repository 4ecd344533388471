import { describe, expect, it } from 'vitest';
import { createLdapChangeFeed } from './create-ldap-change-feed.js';

describe('change feed read loop', () => {
  it('logs a failed poll and retries after the interval, until aborted', async () => {
    const warnings: string[] = [];
    const waits: number[] = [];
    const controller = new AbortController();
    const feed = createLdapChangeFeed({
      connection: { url: 'ldap://127.0.0.1:1', connectTimeoutMs: 1000 },
      usersDN: 'ou=people,dc=example,dc=test',
      groupsDN: 'ou=groups,dc=example,dc=test',
      pollIntervalMs: 5000,
      timers: {
        setTimeout(callback, ms) {
          waits.push(ms);
          if (waits.length === 2) controller.abort();
          queueMicrotask(callback);
          return 0;
        },
        clearTimeout() {},
      },
      logger: {
        debug() {},
        info() {},
        warn(_fields, message) {
          warnings.push(message ?? '');
        },
        error() {},
      },
    });
    const batches = [];
    for await (const batch of feed.read({ signal: controller.signal })) batches.push(batch);
    expect(batches).toEqual([]);
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toContain('poll failed');
    expect(waits.every((ms) => ms === 5000)).toBe(true);
    await feed.close?.();
  });

  it('stops at once on a checkpoint it cannot read', async () => {
    const feed = createLdapChangeFeed({
      connection: { url: 'ldap://127.0.0.1:1' },
      usersDN: 'ou=people,dc=example,dc=test',
      groupsDN: 'ou=groups,dc=example,dc=test',
    });
    const reading = (async () => {
      for await (const _ of feed.read({ checkpoint: 'garbage' })) break;
    })();
    await expect(reading).rejects.toMatchObject({ code: 'ERR_LDAP_CHECKPOINT' });
  });
});
