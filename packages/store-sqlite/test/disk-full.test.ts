import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIdrelayError, type NewDelivery, type Store } from '@idrelay/core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { storeOn } from '../src/create-sqlite-store.js';
import { createContext, loadSqlite, type SqliteContext } from '../src/driver.js';
import { migrate } from '../src/migrations/migrate.js';
import { ENQUEUE_SLICE } from '../src/outbox/enqueue.js';

/**
 * A disk that fills up in the middle of a fan-out. `PRAGMA max_page_count` caps the file a few pages above its
 * size, so SQLite fails with SQLITE_FULL exactly as on a full disk; then the cap is lifted, as when an operator frees
 * space. The store must report a coded error, roll back what it was writing, and carry on afterwards.
 */
const dir = mkdtempSync(join(tmpdir(), 'idrelay-disk-full-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_767_225_600_000;
const DEVICES = 3 * ENQUEUE_SLICE + 500;
let files = 0;
let context: SqliteContext;
let store: Store;

beforeEach(async () => {
  const { DatabaseSync } = loadSqlite();
  context = createContext(new DatabaseSync(join(dir, `full-${++files}.db`)), () => T0, 'sqlite:full');
  context.db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
  migrate(context, 'sqlite:full');
  store = storeOn(context, 'sqlite:full');
  for (let n = 0; n < DEVICES; n++) {
    await store.devices.upsert({
      deviceId: `d-${n}`,
      userId: `u-${n}`,
      platform: 'fcm',
      token: `token-${n}-${'x'.repeat(40)}`,
      createdAt: T0,
      updatedAt: T0,
    });
  }
  return () => store.close();
});

/** Lets the file grow by at most `pages` more pages. */
function capGrowth(pages: number): void {
  const { page_count } = context.db.prepare('PRAGMA page_count').get() as { page_count: number };
  context.db.exec(`PRAGMA max_page_count = ${page_count + pages}`);
}
const freeSpace = () => context.db.exec('PRAGMA max_page_count = 1073741823');

const fanOut = (): NewDelivery[] =>
  Array.from({ length: DEVICES }, (_, n) => ({
    eventKey: '/idrelay#announcement',
    notificationId: 'n-1',
    ruleId: 'announcement',
    userId: `u-${n}`,
    deviceId: `d-${n}`,
    platform: 'fcm',
    dueAt: T0,
    message: { id: 'n-1', urgency: 'normal', title: 'All hands' },
    data: { actionToken: `at-${n}-${'y'.repeat(30)}` },
  }));

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('the write should have failed'),
    (error: unknown) => error,
  );
}

const SQLITE_FULL = 13;

describe('a full disk in the middle of a fan-out', () => {
  it('fails the enqueue with ERR_STORE_QUERY, keeps only whole slices, and inserts the rest once there is space', async () => {
    // Room for about one slice and a half: the first commits, the second fails half-way through.
    capGrowth(60);
    const error = await failure(store.outbox.enqueue(fanOut()));
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    expect(((error as Error).cause as { errcode?: number }).errcode).toBe(SQLITE_FULL);

    // No half-written slice: what is there is a whole number of slices, and less than the fan-out.
    const { pending } = await store.outbox.counts();
    expect(pending % ENQUEUE_SLICE).toBe(0);
    expect(pending).toBeGreaterThanOrEqual(ENQUEUE_SLICE);
    expect(pending).toBeLessThan(DEVICES);

    // Reads still work while the disk is full.
    expect((await store.devices.get('d-0'))?.userId).toBe('u-0');

    freeSpace();
    // The planner's retry (re-planning is idempotent) inserts exactly what is missing.
    expect(await store.outbox.enqueue(fanOut())).toEqual({ inserted: DEVICES - pending });
    expect((await store.outbox.counts()).pending).toBe(DEVICES);
    const batch = await store.outbox.claim({ limit: 1_000, now: T0, leaseMs: 60_000, platforms: ['fcm'] });
    expect(batch).toHaveLength(1_000);
    expect(batch[0]?.message.title).toBe('All hands');
  });

  it('rolls a settle back whole when its outgoing entries do not fit, and applies it once there is space', async () => {
    await store.outbox.enqueue(fanOut().slice(0, 2));
    const batch = await store.outbox.claim({ limit: 10, now: T0, leaseMs: 60_000 });
    const outcomes = batch.map((d) => ({
      id: d.id,
      claimToken: d.claimToken!,
      status: 'delivered' as const,
      at: T0 + 1,
      // A receipt too large for the pages left: the second delivery's entry overflows the cap.
      emit: [{ consumer: 'receipts', orderKey: d.deviceId, event: receipt(d.deviceId) }],
    }));
    capGrowth(2);
    const error = await failure(store.outbox.settle(outcomes));
    expect(isIdrelayError(error, 'ERR_STORE_QUERY')).toBe(true);
    // Nothing of it happened: both still claimed under the same token, no receipt written.
    for (const d of batch) expect((await store.outbox.get(d.id))?.status).toBe('claimed');
    expect(await store.outgoing.counts('receipts')).toEqual({ pending: 0, claimed: 0, delivered: 0, dead: 0 });

    freeSpace();
    expect(await store.outbox.settle(outcomes)).toEqual({ settled: 2, stale: [] });
    expect(await store.outgoing.counts('receipts')).toMatchObject({ pending: 2 });
  });
});

function receipt(deviceId: string) {
  return {
    specversion: '1.0',
    id: `receipt-${deviceId}`,
    source: '/idrelay/relay',
    type: 'idrelay.notification.delivered',
    time: new Date(T0).toISOString(),
    datacontenttype: 'application/json',
    data: { deviceId, padding: 'z'.repeat(20_000) },
  } as never;
}
