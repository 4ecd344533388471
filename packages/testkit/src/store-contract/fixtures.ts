import type {
  ActionTokenRecord,
  DeviceRecord,
  FlowRecord,
  IdentityEvent,
  NewDelivery,
  Platform,
  Store,
} from '@idrelay/core';
import { afterEach, beforeEach } from 'vitest';

/** A fixed instant the suite counts from, so every time in it is readable as `T0 + n`. */
export const T0 = 1_767_225_600_000;

/** An identity event with a given source and id (CloudEvents identifies an event by both). */
export function contractEvent(id: string, source = 'https://iam.example.com/contract'): IdentityEvent {
  return {
    specversion: '1.0',
    id,
    source,
    type: 'idrelay.account.locked',
    time: new Date(T0).toISOString(),
    datacontenttype: 'application/json',
    subject: `user-${id}`,
    data: { userId: `user-${id}`, reason: 'failed-logins', failedAttempts: 5 },
  } as IdentityEvent;
}

/** A device of `platform`; `token` defaults to one derived from the id. */
export function contractDevice(
  deviceId: string,
  userId: string,
  platform: Platform = 'fcm',
  token = `token-${deviceId}`,
): DeviceRecord {
  const base = { userId, createdAt: T0, updatedAt: T0 };
  switch (platform) {
    case 'apns':
      return { ...base, deviceId, platform, token, topic: 'com.example.app', environment: 'sandbox' };
    case 'fcm':
      return { ...base, deviceId, platform, token };
    case 'webpush':
      return {
        ...base,
        deviceId,
        platform,
        subscription: { endpoint: `https://push.example.net/${token}`, keys: { p256dh: 'BP256dh', auth: 'YXV0aA' } },
      };
  }
}

/** A delivery of notification-1 to `device-<n>` (register the device first: see {@link enqueueWithDevices}). */
export function contractDelivery(n: number | string, over: Partial<NewDelivery> = {}): NewDelivery {
  return {
    eventKey: 'https://iam.example.com/contract#event-1',
    notificationId: 'notification-1',
    ruleId: 'rule-1',
    userId: `user-${n}`,
    deviceId: `device-${n}`,
    platform: 'fcm',
    dueAt: T0,
    message: { id: 'notification-1', title: 'Account locked', body: 'Five failed sign-ins.', urgency: 'high' },
    data: { actionToken: `at-${n}` },
    ...over,
  };
}

/** Registers the device of every delivery (its platform, `token-<deviceId>`), then enqueues them. */
export async function enqueueWithDevices(
  store: Store,
  deliveries: readonly NewDelivery[],
): Promise<{ inserted: number }> {
  for (const d of deliveries) {
    if ((await store.devices.get(d.deviceId)) === undefined) {
      await store.devices.upsert(contractDevice(d.deviceId, d.userId, d.platform, `token-${d.deviceId}`));
    }
  }
  return store.outbox.enqueue(deliveries);
}

/** An action token record bound to notification-1. */
export function contractToken(tokenHash: string, over: Partial<ActionTokenRecord> = {}): ActionTokenRecord {
  return {
    tokenHash,
    notificationId: 'notification-1',
    userId: 'user-1',
    deviceId: 'device-1',
    actions: ['approve', 'deny', 'report'],
    flowId: 'flow-1',
    codeHash: 'c0de',
    expiresAt: T0 + 60_000,
    createdAt: T0,
    ...over,
  };
}

/** A new flow (without `version`, which the store assigns). */
export function contractFlow(id: string, key: string, over: Partial<FlowRecord> = {}): Omit<FlowRecord, 'version'> {
  return {
    id,
    kind: 'access-approval',
    definitionVersion: 3,
    key,
    state: 'pending',
    data: { approvers: ['manager-1'], quorum: 1 },
    transitions: 0,
    createdAt: T0,
    updatedAt: T0,
    ...over,
  };
}

/** Fires `count` calls of `task` at once and waits for all of them. */
export function together<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => task(i)));
}

/**
 * Hooks for the migration checks; each is optional and its check is skipped without it. Every store a hook
 * returns is closed by the suite, then passed to `cleanup`.
 *
 * @example
 * ```ts
 * const migrations: StoreMigrationHooks = {
 *   openEmpty: () => createSqliteStore({ path: nextTempFile(), migrate: false }),
 *   openNewer: async () => {
 *     const file = nextTempFile();
 *     markSchemaVersion(file, SCHEMA_VERSION + 1); // however your database records its version
 *     return createSqliteStore({ path: file });
 *   },
 * };
 * ```
 */
export interface StoreMigrationHooks {
  /** Opens a store on an empty database without migrating it (the factory's `migrate: false`). */
  openEmpty?: () => Promise<Store>;
  /**
   * Builds a database at the schema version before the current one — as the previous release left it, ideally
   * holding one recorded event and one pending delivery — and opens it without migrating. `eventKey` names that
   * event, which must survive; `pendingDelivery` names the delivery (its device and message title), which must be
   * claimable after the migration with its message and address intact.
   */
  openAtPreviousVersion?: () => Promise<{
    store: Store;
    eventKey?: string;
    pendingDelivery?: { deviceId: string; title: string };
  }>;
  /** Opens a database whose schema is newer than the library's; the suite expects `ERR_STORE_MIGRATION`. */
  openNewer?: () => Promise<Store>;
}

/** What each section of the suite needs: a fresh store per test. */
export interface ContractContext {
  /** The store of the running test, over an empty database. */
  readonly store: Store;
  /** How many concurrent calls the concurrency checks fire. */
  readonly concurrency: number;
}

/**
 * Registers hooks that open a fresh store before each test and close it (then run `cleanup`) after, and returns
 * a view whose `store` is the current one.
 */
export function useFreshStore(
  create: () => Promise<Store>,
  cleanup: ((store: Store) => Promise<void>) | undefined,
  concurrency: number,
): ContractContext {
  let current: Store | undefined;
  beforeEach(async () => {
    current = await create();
  });
  afterEach(async () => {
    const store = current;
    current = undefined;
    if (store === undefined) return;
    await store.close();
    await cleanup?.(store);
  });
  return {
    get store(): Store {
      if (current === undefined) throw new Error('storeContract: no store is open outside a test');
      return current;
    },
    concurrency,
  };
}
