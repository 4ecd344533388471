/**
 * A relay stopped in the middle of a fan-out — planning half done, dispatch a third done — and restarted on the
 * same SQLite file or PostgreSQL schema delivers everything exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Directory, Store } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory } from '@idrelay/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createRelay, defaultRules } from '../src/index.js';
import { drivers } from './support/drivers.js';
import { createRecordingTransport } from './support/fake-transport.js';
import { manualScheduler, T0 } from './support/scenario.js';

const USERS = 1_500;
const users = Array.from({ length: USERS }, (_, i) => ({ id: `u${i}`, attributes: { staff: 'yes' } }));

/** A directory whose connection drops after `after` users, like an LDAP server going away mid-search. */
function failingDirectory(after: number): Directory {
  const inner = createMemoryDirectory({ users });
  return {
    ...inner,
    async *resolve(audience, options) {
      let n = 0;
      for await (const user of inner.resolve(audience, options)) {
        if (n++ === after) throw new Error('directory connection lost');
        yield user;
      }
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'idrelay-restart-'));
let files = 0;
let file = '';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const targets = [
  {
    name: 'sqlite (file)',
    available: true,
    create: () => {
      file = join(dir, `relay-${++files}.db`);
      return createSqliteStore({ path: file });
    },
    reopen: () => createSqliteStore({ path: file }),
    cleanup: async () => {},
  },
  {
    name: 'postgres',
    available: drivers[1]!.available,
    create: () => drivers[1]!.create(),
    reopen: (previous: Store) => drivers[1]!.reopen(previous),
    cleanup: (store: Store) => drivers[1]!.cleanup(store),
  },
];

for (const target of targets) {
  describe.skipIf(!target.available)(`restart on ${target.name}`, () => {
    it('resumes planning and dispatch after a stop mid-fan-out: nothing lost, nothing sent twice', async () => {
      const transport = createRecordingTransport('fcm');
      const options = {
        transports: [transport],
        rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins' }),
        clock: { now: () => T0 },
        scheduler: manualScheduler,
        pageSize: 100,
        batchSize: 100,
      };
      const first = await target.create();
      for (let i = 0; i < USERS; i += 100) {
        await Promise.all(
          users.slice(i, i + 100).map((user) =>
            first.devices.upsert({
              userId: user.id,
              deviceId: `${user.id}-d`,
              platform: 'fcm',
              token: `tok-${user.id}-xxxx`,
              createdAt: T0,
              updatedAt: T0,
            }),
          ),
        );
      }
      const relay1 = createRelay({ ...options, store: first, directory: failingDirectory(700) });
      const event = createEvent(
        'idrelay.announcement.published',
        {
          announcementId: 'all-hands',
          title: 'All hands',
          body: 'b',
          audience: { kind: 'attributes', filter: { staff: 'yes' } },
        },
        { source: '/test', id: 'restart-1' },
      );
      await expect(relay1.ingest(event)).rejects.toThrow('directory connection lost');
      for (let i = 0; i < 3; i++) await relay1.dispatchOnce();
      const sentBefore = transport.sent.length;
      expect(sentBefore).toBe(300);
      await relay1.close();
      await first.close();

      const second = await target.reopen(first);
      const relay2 = createRelay({ ...options, store: second, directory: createMemoryDirectory({ users }) });
      expect(await relay2.start()).toEqual({ replanned: 1 });
      await relay2.drain();
      const devices = transport.sent.map((s) => s.target.deviceId);
      expect(devices).toHaveLength(USERS);
      expect(new Set(devices).size).toBe(USERS);
      expect(await second.outbox.counts()).toMatchObject({ delivered: USERS, pending: 0, claimed: 0 });
      expect(await relay2.ingest(event)).toMatchObject({ duplicate: true });
      await relay2.close();
      await second.close();
      await target.cleanup(second);
    }, 60_000);
    it('keeps an open digest window across a restart and flushes it once', async () => {
      let now = T0;
      const transport = createRecordingTransport('fcm');
      const directory = createMemoryDirectory({
        users: [{ id: 'admin' }],
        groups: [{ id: 'admins', members: ['admin'] }],
      });
      const options = {
        transports: [transport],
        directory,
        rules: defaultRules({ securityGroup: 'soc', adminGroup: 'admins', digestWindowMs: 60_000 }),
        clock: { now: () => now },
        scheduler: manualScheduler,
      };
      const first = await target.create();
      await first.devices.upsert({
        userId: 'admin',
        deviceId: 'admin-phone',
        platform: 'fcm',
        token: 'admin-token-1',
        createdAt: T0,
        updatedAt: T0,
      });
      const relay1 = createRelay({ ...options, store: first });
      for (let i = 0; i < 2; i++) {
        await relay1.ingest(
          createEvent(
            'idrelay.sync.failed',
            { connector: 'ldap', error: { message: 'down' } },
            { source: '/test', id: `digest-${i}` },
          ),
        );
      }
      await relay1.drain();
      await relay1.close();
      await first.close();

      now += 60_000;
      const second = await target.reopen(first);
      const relay2 = createRelay({ ...options, store: second });
      await relay2.start();
      await relay2.drain();
      await relay2.drain();
      expect(transport.sent.map((s) => s.message.title)).toEqual(['IAM operations: 2 failure(s)']);
      await relay2.close();
      await second.close();
      await target.cleanup(second);
    });
  });
}
