import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError, verifyAuditChain } from '@idrelay/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteStore, SCHEMA_VERSION } from '../src/index.js';
import { writePreviousVersion } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'idrelay-reopen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_767_225_600_000;
const message = { id: 'n-1', urgency: 'high', title: 'Approve access?' } as const;
const device = (n: number) => ({
  deviceId: `d-${n}`,
  platform: 'apns' as const,
  token: `t-${n}`,
  userId: 'alice',
  createdAt: T0,
  updatedAt: T0,
});
const delivery = (n: number) => ({
  eventKey: 'src#e-1',
  notificationId: 'n-1',
  ruleId: 'r',
  userId: 'alice',
  deviceId: `d-${n}`,
  platform: 'apns' as const,
  dueAt: T0,
  message,
});

describe('a store file outlives the process that wrote it', () => {
  it('creates missing directories and finds everything again after reopening', async () => {
    const file = join(dir, 'nested', 'deeper', 'relay.db');
    const first = await createSqliteStore({ path: file, clock: { now: () => T0 } });
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'nested', 'deeper')).mode & 0o777).toBe(0o700);
    for (const n of [1, 2, 3]) await first.devices.upsert(device(n));
    await first.outbox.enqueue([delivery(1), delivery(2), delivery(3)]);
    const [inFlight] = await first.outbox.claim({ limit: 1, now: T0, leaseMs: 60_000 });
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    await first.flows.create({
      id: 'f-1',
      kind: 'access-approval',
      definitionVersion: 1,
      key: 'req-1',
      state: 'pending',
      data: {},
      transitions: 0,
      createdAt: T0,
      updatedAt: T0,
    });
    const [firstEntry] = await first.audit.append([{ at: T0, action: 'event.ingested', actor: 'system' }]);
    await first.close();

    const second = await createSqliteStore({ path: file });
    try {
      expect(await second.migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      expect((await second.devices.get('d-1'))?.userId).toBe('alice');
      expect(await second.outbox.counts()).toMatchObject({ pending: 2, claimed: 1 });
      expect((await second.outbox.get(inFlight!.id))?.createdAt).toBe(T0);
      // The claim held by the closed process is honoured until its lease ends, then taken over.
      expect(await second.outbox.claim({ limit: 10, now: T0 + 1, leaseMs: 60_000 })).toHaveLength(2);
      const [resumed] = await second.outbox.claim({ limit: 10, now: T0 + 60_000, leaseMs: 60_000 });
      expect(resumed).toMatchObject({ id: inFlight!.id, attempts: 2 });
      expect((await second.flows.findByKey('access-approval', 'req-1'))?.version).toBe(1);

      const [next] = await second.audit.append([{ at: T0 + 1, action: 'delivery.delivered', actor: 'system' }]);
      expect(next).toMatchObject({ seq: 2, prevHash: firstEntry!.hash });
      expect(verifyAuditChain(await second.audit.list({ limit: 10 }))).toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it('brings a file of the previous schema version up to date on open', async () => {
    const file = join(dir, 'previous.db');
    const { eventKey, pendingDelivery } = writePreviousVersion(file);
    const store = await createSqliteStore({ path: file });
    try {
      expect(await store.migrate()).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      expect((await store.events.get(eventKey))?.event.id).toBe('e-1');
      const [claimed] = await store.outbox.claim({ limit: 10, now: T0, leaseMs: 1_000 });
      expect(claimed).toMatchObject({ deviceId: pendingDelivery.deviceId, message: { title: pendingDelivery.title } });
      expect(await store.digests.add({ key: 'k', windowEndsAt: T0, item: { n: 1 } })).toMatchObject({ opened: true });
    } finally {
      await store.close();
    }
  });

  it('leaves the schema alone when migrate is false, until migrate() is called', async () => {
    const file = join(dir, 'unmigrated.db');
    const store = await createSqliteStore({ path: file, migrate: false });
    expect(await store.migrate()).toEqual({ from: 0, to: SCHEMA_VERSION });
    await store.close();
  });
});

describe('a file that is not an idrelay store', () => {
  it('is refused with ERR_STORE_QUERY and the driver error as cause', async () => {
    const file = join(dir, 'not-a-database.db');
    writeFileSync(file, 'this is a text file, not SQLite '.repeat(100));
    const error = await createSqliteStore({ path: file }).catch((caught: unknown) => caught);
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('checkpointPages bounds the write-ahead log', () => {
  it('keeps the WAL near the configured size across many commits, and refuses a nonsense value', async () => {
    const file = join(dir, 'checkpoint', 'relay.db');
    const store = await createSqliteStore({ path: file, clock: { now: () => T0 }, checkpointPages: 16 });
    for (let n = 0; n < 400; n++) await store.devices.upsert(device(n));
    for (let n = 0; n < 400; n += 50) {
      await store.outbox.enqueue(Array.from({ length: 50 }, (_, i) => delivery(n + i)));
    }
    // 16 pages of 4 KB: every commit past them checkpoints, so the log is reused instead of growing.
    expect(statSync(`${file}-wal`).size).toBeLessThan(256 * 1024);
    expect((await store.outbox.counts()).pending).toBe(400);
    await store.close();
    await expect(createSqliteStore({ path: join(dir, 'bad.db'), checkpointPages: 0 })).rejects.toThrow(
      /checkpointPages/,
    );
  });
});
