import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventKey, type Store } from '@idrelay/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../src/index.js';
import { insertOldDelivery, insertOldDevice, insertOldEvent, writeAtVersion } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'idrelay-migrate-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: Store[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});

const HASHED = 'https://iam.example.com/a#b';
const PERCENT = '/pct%20x';

/** A file of schema 2 (before the normalised outbox): old-style event keys, a notification with two texts, a device that is gone. */
async function migratedStore(name: string): Promise<Store> {
  const file = join(dir, `${name}.db`);
  writeAtVersion(file, 2, (db) => {
    insertOldEvent(db, HASHED, 'e-1', 'planned');
    insertOldEvent(db, '/plain', 'e-2');
    insertOldEvent(db, PERCENT, 'e-3');
    insertOldDevice(db, 'd-1');
    insertOldDevice(db, 'd-2');
    const old = `${HASHED}#e-1`;
    insertOldDelivery(db, {
      key: 'k1',
      eventKey: old,
      notificationId: 'n-1',
      deviceId: 'd-1',
      title: 'Hello',
      data: { actionToken: 'at-1' },
    });
    insertOldDelivery(db, {
      key: 'k2',
      eventKey: old,
      notificationId: 'n-1',
      deviceId: 'd-2',
      title: 'Hallo',
      status: 'delivered',
      providerMessageId: 'pm-2',
    });
    insertOldDelivery(db, { key: 'k3', eventKey: old, notificationId: 'n-1', deviceId: 'd-gone', title: 'Hello' });
    insertOldDelivery(db, {
      key: 'k4',
      eventKey: '/plain#e-2',
      notificationId: 'n-2',
      deviceId: 'd-gone',
      title: 'Bye',
      status: 'delivered',
    });
    insertOldDelivery(db, {
      key: 'k5',
      eventKey: '/plain#e-2',
      notificationId: 'n-3',
      deviceId: 'd-2',
      title: 'In flight',
      status: 'claimed',
      readyAt: 1_000,
    });
  });
  const store = await createSqliteStore({ path: file, clock: { now: () => 5 } });
  open.push(store);
  return store;
}

describe('migrating the outbox of schema 2', () => {
  it('re-keys events whose source holds # or % with the escaping eventKey(), and keeps the others', async () => {
    const store = await migratedStore('events');
    const hashed = eventKey({ source: HASHED, id: 'e-1' });
    expect(hashed).toBe('https://iam.example.com/a%23b#e-1');
    expect(await store.events.get(hashed)).toMatchObject({ status: 'planned', event: { source: HASHED } });
    expect(await store.events.get(`${HASHED}#e-1`)).toBeUndefined();
    expect((await store.events.get('/plain#e-2'))?.event.id).toBe('e-2');
    expect((await store.events.get(eventKey({ source: PERCENT, id: 'e-3' })))?.event.source).toBe(PERCENT);
    expect((await store.events.listUnplanned(10)).map((e) => e.event.id)).toEqual(['e-2', 'e-3']);
  });

  it('stores each distinct text of a notification once, as a variant, and points every delivery at it', async () => {
    const store = await migratedStore('variants');
    const deliveries = await store.outbox.listByEvent(eventKey({ source: HASHED, id: 'e-1' }));
    const byDevice = Object.fromEntries(deliveries.map((d) => [d.deviceId, d]));
    expect(byDevice['d-1']).toMatchObject({
      status: 'pending',
      notificationId: 'n-1',
      variant: '',
      message: { title: 'Hello' },
      target: { deviceId: 'd-1', platform: 'fcm', token: 'token-d-1', data: { actionToken: 'at-1' } },
    });
    expect(byDevice['d-2']).toMatchObject({
      status: 'delivered',
      variant: 'migrated-2',
      message: { title: 'Hallo' },
      providerMessageId: 'pm-2',
    });
  });

  it('cancels live deliveries to a device that is gone, and keeps its history under a removed tombstone', async () => {
    const store = await migratedStore('tombstones');
    const [gone] = (await store.outbox.listByEvent(eventKey({ source: HASHED, id: 'e-1' }))).filter(
      (d) => d.deviceId === 'd-gone',
    );
    expect(gone).toMatchObject({
      status: 'cancelled',
      userId: 'user-old',
      lastError: { code: 'ERR_DEVICE_REMOVED' },
      target: { deviceId: 'd-gone', token: 'token-d-gone' },
    });
    const [history] = await store.outbox.listByEvent('/plain#e-2');
    expect(history).toMatchObject({ deviceId: 'd-gone', status: 'delivered', message: { title: 'Bye' } });
    expect(await store.devices.get('d-gone')).toBeUndefined();
    expect((await store.devices.listByUser('user-old')).map((d) => d.deviceId)).toEqual(['d-1', 'd-2']);

    // Once its deliveries are pruned the tombstone goes too; the id can be registered afresh.
    const far = Number.MAX_SAFE_INTEGER;
    expect(await store.retention.prune({ deliveries: far }, 100)).toMatchObject({ deliveries: 3 });
    expect((await store.retention.prune({ devices: far }, 100)).devices).toBe(1);
    await store.devices.upsert({
      deviceId: 'd-gone',
      userId: 'u-new',
      platform: 'fcm',
      token: 'fresh',
      createdAt: 9,
      updatedAt: 9,
    });
    expect(await store.devices.countByUser('u-new')).toBe(1);
  });

  it('claims old pending rows, and old claims once their lease ends, under the new fencing', async () => {
    const store = await migratedStore('claims');
    expect(await store.outbox.counts()).toEqual({
      pending: 1,
      claimed: 1,
      delivered: 2,
      failed: 0,
      dead: 0,
      cancelled: 1,
      expired: 0,
    });
    const first = await store.outbox.claim({ limit: 10, now: 10, leaseMs: 60_000 });
    expect(first.map((d) => d.deviceId)).toEqual(['d-1']);
    const [resumed] = await store.outbox.claim({ limit: 10, now: 1_000, leaseMs: 100 });
    expect(resumed).toMatchObject({
      notificationId: 'n-3',
      deviceId: 'd-2',
      attempts: 2,
      message: { title: 'In flight' },
    });
    expect(resumed!.claimToken).toBeGreaterThan(first[0]!.claimToken!);
    const result = await store.outbox.settle([
      { id: resumed!.id, claimToken: resumed!.claimToken!, status: 'delivered', at: 1_001 },
    ]);
    expect(result).toEqual({ settled: 1, stale: [] });
  });
});
