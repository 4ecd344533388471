/**
 * Quiet hours on the nights the clocks change, through a relay on a fake clock: a push planned inside quiet hours
 * waits until the user's wall clock shows the end — not an hour early or late.
 */
import { createEvent } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createScenario, type Scenario } from './support/scenario.js';

let s: Scenario | undefined;
afterEach(async () => {
  await s?.relay.close();
  await s?.store.close();
  s = undefined;
});

let counter = 0;
const announcement = (userId: string) =>
  createEvent(
    'idrelay.announcement.published',
    {
      announcementId: `a-${++counter}`,
      title: 'Badge renewal',
      body: 'b',
      audience: { kind: 'users', userIds: [userId] },
    },
    { source: '/dst', id: `dst-${counter}` },
  );

/**
 * Plans an announcement at `plannedAt` for a user with quiet hours 22:00–07:00, then checks nothing goes out a
 * minute before `expectedEnd` and everything at it.
 */
async function deferredUntil(user: string, timeZone: string, plannedAt: string, expectedEnd: string) {
  s = await createScenario(createMemoryStore());
  s.clock.set(Date.parse(plannedAt));
  await s.relay.preferences.set(user, {
    rules: [],
    quietHours: { start: '22:00', end: '07:00', timeZone },
  });
  const preview = await s.relay.preview(announcement(user));
  const due = preview.notifications[0]!.recipients[0]!.devices.map((d) => d.dueAt);
  const planned = await s.relay.ingest(announcement(user));
  expect(planned.deferred).toBeGreaterThan(0);
  await s.relay.drain();
  expect(s.received()).toEqual([]);
  s.clock.set(Date.parse(expectedEnd) - 60_000);
  await s.relay.drain();
  expect(s.received(), 'sent before the wall-clock end').toEqual([]);
  s.clock.set(Date.parse(expectedEnd));
  await s.relay.drain();
  return { received: s.received(), due };
}

describe('quiet hours across daylight saving changes', () => {
  it('Europe/Zurich, clocks forward (29 March 2026): planned at 01:30 CET, sent at 07:00 CEST', async () => {
    const result = await deferredUntil('alice', 'Europe/Zurich', '2026-03-29T00:30:00Z', '2026-03-29T05:00:00Z');
    expect(result.received).toEqual(['alice-browser', 'alice-iphone']);
    expect(result.due).toEqual([Date.parse('2026-03-29T05:00:00Z'), Date.parse('2026-03-29T05:00:00Z')]);
  });

  it('Europe/Zurich, clocks back (25 October 2026): planned at 02:30 CEST, sent at 07:00 CET', async () => {
    const result = await deferredUntil('alice', 'Europe/Zurich', '2026-10-25T00:30:00Z', '2026-10-25T06:00:00Z');
    expect(result.received).toEqual(['alice-browser', 'alice-iphone']);
  });

  it('America/New_York, clocks forward (8 March 2026): planned at 01:30 EST, sent at 07:00 EDT', async () => {
    const result = await deferredUntil('dave', 'America/New_York', '2026-03-08T06:30:00Z', '2026-03-08T11:00:00Z');
    expect(result.received).toEqual(['dave-pixel']);
  });

  it('America/New_York, clocks back (1 November 2026): planned at 01:30 EDT, sent at 07:00 EST', async () => {
    const result = await deferredUntil('dave', 'America/New_York', '2026-11-01T05:30:00Z', '2026-11-01T12:00:00Z');
    expect(result.received).toEqual(['dave-pixel']);
  });
});
