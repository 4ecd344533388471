import { eventKey, type Store } from '@idrelay/core';
import { requirePostgres } from '@idrelay/testkit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { insertOldDelivery, insertOldDevice, insertOldEvent, testSchemas } from './helpers.js';

const postgres = await requirePostgres();

const HASHED = 'https://iam.example.com/a#b';
const PERCENT = '/pct%20x';

describe.skipIf(!postgres.available)('migrating the outbox of schema version 2', () => {
  const schemas = testSchemas(postgres.url, 'migdata');
  const open: Store[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  afterAll(() => schemas.dropAll());

  /** A schema of version 2 (before the normalised outbox): old-style event keys, a notification with two texts, a device that is gone. */
  async function migratedStore(): Promise<Store> {
    const schema = await schemas.atVersion(2);
    const { admin } = schemas;
    const old = await insertOldEvent(admin, schema, HASHED, 'e-1', 'planned');
    await insertOldEvent(admin, schema, '/plain', 'e-2');
    await insertOldEvent(admin, schema, PERCENT, 'e-3');
    await insertOldDevice(admin, schema, 'd-1');
    await insertOldDevice(admin, schema, 'd-2');
    await insertOldDelivery(admin, schema, {
      key: 'k1',
      eventKey: old,
      notificationId: 'n-1',
      deviceId: 'd-1',
      title: 'Hello',
      data: { actionToken: 'at-1' },
    });
    await insertOldDelivery(admin, schema, {
      key: 'k2',
      eventKey: old,
      notificationId: 'n-1',
      deviceId: 'd-2',
      title: 'Hallo',
      status: 'delivered',
      providerMessageId: 'pm-2',
    });
    await insertOldDelivery(admin, schema, {
      key: 'k3',
      eventKey: old,
      notificationId: 'n-1',
      deviceId: 'd-gone',
      title: 'Hello',
    });
    await insertOldDelivery(admin, schema, {
      key: 'k4',
      eventKey: '/plain#e-2',
      notificationId: 'n-2',
      deviceId: 'd-gone',
      title: 'Bye',
      status: 'delivered',
    });
    await insertOldDelivery(admin, schema, {
      key: 'k5',
      eventKey: '/plain#e-2',
      notificationId: 'n-3',
      deviceId: 'd-2',
      title: 'In flight',
      status: 'claimed',
      readyAt: 1_000,
    });
    const store = await schemas.open({ clock: { now: () => 5 } }, schema);
    open.push(store);
    return store;
  }

  it('re-keys events whose source holds # or % with the escaping eventKey(), and keeps the others', async () => {
    const store = await migratedStore();
    const hashed = eventKey({ source: HASHED, id: 'e-1' });
    expect(hashed).toBe('https://iam.example.com/a%23b#e-1');
    expect(await store.events.get(hashed)).toMatchObject({ status: 'planned', event: { source: HASHED } });
    expect(await store.events.get(`${HASHED}#e-1`)).toBeUndefined();
    expect((await store.events.get('/plain#e-2'))?.event.id).toBe('e-2');
    expect((await store.events.get(eventKey({ source: PERCENT, id: 'e-3' })))?.event.source).toBe(PERCENT);
    // Received at the same instant: listed in key order.
    expect((await store.events.listUnplanned(10)).map((e) => e.event.id)).toEqual(['e-3', 'e-2']);
  });

  it('stores each distinct text of a notification once, as a variant, and points every delivery at it', async () => {
    const store = await migratedStore();
    const deliveries = await store.outbox.listByEvent(eventKey({ source: HASHED, id: 'e-1' }));
    const byDevice = Object.fromEntries(deliveries.map((d) => [d.deviceId, d]));
    expect(byDevice['d-1']).toMatchObject({
      status: 'pending',
      notificationId: 'n-1',
      ruleId: 'rule-1',
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
    const store = await migratedStore();
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
    const store = await migratedStore();
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
    // New deliveries take ids after the migrated ones.
    await store.devices.upsert({
      deviceId: 'd-3',
      userId: 'u',
      platform: 'fcm',
      token: 't-3',
      createdAt: 1,
      updatedAt: 1,
    });
    await store.outbox.enqueue([
      {
        eventKey: '/plain#e-2',
        notificationId: 'n-4',
        ruleId: 'r',
        userId: 'u',
        deviceId: 'd-3',
        platform: 'fcm',
        dueAt: 1,
        message: { id: 'n-4', urgency: 'normal' },
      },
    ]);
    const ids = (await store.outbox.listByEvent('/plain#e-2')).map((d) => Number(d.id));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
