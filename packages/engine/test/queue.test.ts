/**
 * The in-process queue driven by (fake) timers, as in production: it wakes on ingest and on the next due time,
 * limits batches in flight per transport, and `close()` waits for what is in flight and closes nothing it was given.
 */
import type { DeliveryResult } from '@idrelay/core';
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { globalScheduler } from '../src/index.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const systemTime = { now: () => Date.now() };
let n = 0;
const locked = (userId: string) =>
  createEvent('idrelay.account.locked', { userId, reason: 'risk' }, { source: '/q', id: `q-${++n}` });

describe('in-process queue', () => {
  let s: Scenario;
  beforeEach(async () => {
    vi.useFakeTimers({ now: T0 });
    s = await createScenario(createMemoryStore(), { clock: systemTime, scheduler: globalScheduler, pollMs: 60_000 });
    await s.relay.start();
  });
  afterEach(async () => {
    await s.relay.close();
    vi.useRealTimers();
  });

  it('sends as soon as an event is ingested, and wakes itself at a Retry-After', async () => {
    await s.relay.ingest(locked('dave'));
    await vi.advanceTimersByTimeAsync(0);
    expect(s.received()).toEqual(['dave-pixel']);

    s.transports.fcm.script = (t, _m, call) =>
      call === 2
        ? {
            deviceId: t.deviceId,
            status: 'retry-after',
            code: 'ERR_FCM_SERVICE_UNAVAILABLE',
            reason: 'UNAVAILABLE',
            retryAfterMs: 10_000,
          }
        : (undefined as never);
    await s.relay.ingest(locked('bob'));
    await vi.advanceTimersByTimeAsync(9_999);
    expect(s.received()).toEqual(['dave-pixel']);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.received()).toEqual(['bob-pixel', 'dave-pixel']);
  });

  it('wakes at the end of quiet hours without being told', async () => {
    await s.relay.preferences.set('dave', { rules: [], quietHours: { start: '12:00', end: '12:30', timeZone: 'UTC' } });
    const announcement = createEvent(
      'idrelay.announcement.published',
      { announcementId: 'a', title: 'Lunch', body: 'b', audience: { kind: 'users', userIds: ['dave'] } },
      { source: '/q' },
    );
    expect(await s.relay.ingest(announcement)).toMatchObject({ deferred: 1 });
    await vi.advanceTimersByTimeAsync(30 * 60_000 - 1);
    expect(s.received()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.received()).toEqual(['dave-pixel']);
  });
});

describe('concurrency and close', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps at most `concurrency` batches in flight per transport, and close waits for them', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = createMemoryStore();
    const s = await createScenario(store, {
      clock: systemTime,
      scheduler: globalScheduler,
      concurrency: { fcm: 2, apns: 1, webpush: 1 },
      batchSize: 1,
    });
    let inFlight = 0;
    let peak = 0;
    const release: Array<() => void> = [];
    s.transports.fcm.sendEach = async (requests) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
      return requests.map((r): DeliveryResult => ({ deviceId: r.target.deviceId, status: 'delivered' }));
    };
    await s.relay.start();
    await s.relay.ingest(
      createEvent(
        'idrelay.announcement.published',
        { announcementId: 'x', title: 't', body: 'b', audience: { kind: 'group', groupId: 'all' } },
        { source: '/q' },
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(inFlight).toBe(2);
    let closed = false;
    const closing = s.relay.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false);
    while (release.length > 0) {
      release.shift()!();
      await vi.advanceTimersByTimeAsync(0);
    }
    await closing;
    expect(peak).toBe(2);
    // Two fcm deliveries were in flight and settled; the other two stay pending for the next start.
    expect(await store.outbox.counts()).toMatchObject({ pending: 2 });
    await expect(s.relay.ingest(locked('dave'))).rejects.toMatchObject({ code: 'ERR_RELAY_CLOSED' });
    expect(s.transports.fcm.closed).toBe(false);
    expect(await store.devices.get('dave-pixel')).toBeDefined();
  });
});
