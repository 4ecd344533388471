import type { Store } from '@idrelay/core';
import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import type { ContractContext, StoreMigrationHooks } from './fixtures.js';
import { contractDelivery, contractEvent, enqueueWithDevices, T0 } from './fixtures.js';

/** Checks every port answers on a freshly migrated store: one write and one read each. */
async function exerciseEveryPort(store: Store): Promise<void> {
  expect((await enqueueWithDevices(store, [contractDelivery('migrated')])).inserted).toBe(1);
  const claimed = await store.outbox.claim({ limit: 10, now: T0, leaseMs: 1_000, platforms: ['fcm'] });
  const mine = claimed.filter((d) => d.deviceId === 'device-migrated');
  expect(mine).toHaveLength(1);
  expect(
    (await store.outbox.settle(mine.map((d) => ({ id: d.id, claimToken: d.claimToken!, status: 'delivered', at: T0 }))))
      .settled,
  ).toBe(1);
  await store.directory.putUser({ id: 'migrated', attributes: { site: 'hq' }, updatedAt: T0 });
  expect((await store.directory.usersByAttributes({ site: ['hq'] }, { limit: 10 })).map((u) => u.id)).toEqual([
    'migrated',
  ]);
  expect((await store.digests.add({ key: 'k', windowEndsAt: T0, item: {} })).opened).toBe(true);
  expect(await store.audit.append([{ at: T0, action: 'store.migrated', actor: 'contract' }])).toHaveLength(1);
  await store.timers.schedule({ id: 't', kind: 'k', dueAt: T0, payload: {} });
  const [timer] = await store.timers.claimDue(T0, 1, 1_000);
  expect((await store.timers.complete([{ id: 't', claimToken: timer!.claimToken }])).settled).toBe(1);
  await store.outgoing.append([{ consumer: 'c', orderKey: 'k', event: contractEvent('out') }], T0);
  expect(await store.outgoing.claim({ consumer: 'c', limit: 1, now: T0, leaseMs: 1_000 })).toHaveLength(1);
  expect((await store.retention.prune({ deliveries: Number.MAX_SAFE_INTEGER }, 10)).deliveries).toBe(1);
}

/** Schema migrations (from empty, from the previous version, refusing a newer schema) and `close()`. */
export function describeLifecycle(
  ctx: ContractContext,
  hooks: StoreMigrationHooks,
  cleanup: ((store: Store) => Promise<void>) | undefined,
): void {
  /** Runs `body` on a store from a hook, then closes and cleans up whatever happens. */
  const using = async (store: Store, body: (store: Store) => Promise<void>) => {
    try {
      await body(store);
    } finally {
      await store.close();
      await cleanup?.(store);
    }
  };

  describe('migrations and lifecycle', () => {
    it('opens at the current schema version, and migrate() is then a no-op', async () => {
      const { from, to } = await ctx.store.migrate();
      expect(from).toBe(to);
      expect(to).toBeGreaterThan(0);
      expect(await ctx.store.migrate()).toEqual({ from: to, to });
    });

    it.runIf(hooks.openEmpty !== undefined)('migrates an empty database to the current version', async () => {
      const current = (await ctx.store.migrate()).to;
      await using(await hooks.openEmpty!(), async (store) => {
        expect(await store.migrate()).toEqual({ from: 0, to: current });
        expect(await store.migrate()).toEqual({ from: current, to: current });
        await exerciseEveryPort(store);
      });
    });

    it.runIf(hooks.openAtPreviousVersion !== undefined)(
      'migrates a database of the previous version and keeps its data',
      async () => {
        const current = (await ctx.store.migrate()).to;
        const { store: opened, eventKey, pendingDelivery } = await hooks.openAtPreviousVersion!();
        await using(opened, async (store) => {
          expect(await store.migrate()).toEqual({ from: current - 1, to: current });
          if (eventKey !== undefined) expect((await store.events.get(eventKey))?.key).toBe(eventKey);
          if (pendingDelivery !== undefined) {
            const claimed = await store.outbox.claim({
              limit: 100,
              now: Number.MAX_SAFE_INTEGER - 10_000_000,
              leaseMs: 1_000,
            });
            const found = claimed.find((d) => d.deviceId === pendingDelivery.deviceId);
            expect(found).toMatchObject({ status: 'claimed', message: { title: pendingDelivery.title } });
            expect(found?.target.deviceId).toBe(pendingDelivery.deviceId);
          }
          await exerciseEveryPort(store);
        });
      },
    );

    it.runIf(hooks.openNewer !== undefined)('refuses a database written by a newer version', async () => {
      await expect(hooks.openNewer!()).rejects.toSatisfy((error) => isIdrelayError(error, 'ERR_STORE_MIGRATION'));
    });

    it('refuses calls after close() with ERR_STORE_CLOSED; closing twice is harmless', async () => {
      await ctx.store.close();
      await ctx.store.close();
      await expect(ctx.store.outbox.claim({ limit: 1, now: T0, leaseMs: 1 })).rejects.toSatisfy((error) =>
        isIdrelayError(error, 'ERR_STORE_CLOSED'),
      );
      await expect(ctx.store.events.get('x#y')).rejects.toSatisfy((error) => isIdrelayError(error, 'ERR_STORE_CLOSED'));
    });
  });
}
