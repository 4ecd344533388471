/**
 * `relay.ingest` takes what a producer using the official CloudEvents SDK (`cloudevents` v10) hands over: an SDK
 * `CloudEvent` instance read from binary-mode HTTP, for every type in the catalogue, with the person it concerns.
 */
import { eventKey, type IdentityEvent, type Store } from '@idrelay/core';
import { createEvent, EVENT_TYPES, eventSubject } from '@idrelay/core/events';
import { createMemoryStore } from '@idrelay/testkit';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// One valid `data` per catalogue type, kept beside the catalogue's own tests.
import { VALID_DATA } from '../../core/test/samples.js';
import { createScenario, type Scenario, T0 } from './support/scenario.js';

const alice = { format: 'email', email: 'alice@example.com' } as const;

/** What a binary-mode HTTP request carrying `event` turns into on the receiving side of the SDK. */
function overBinaryHttp(event: IdentityEvent): CloudEvent<unknown> {
  const message = HTTP.binary(new CloudEvent<unknown>({ ...event }));
  return HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent<unknown>;
}

describe('ingesting events from the official CloudEvents SDK', () => {
  let store: Store;
  let s: Scenario;
  beforeEach(async () => {
    store = createMemoryStore();
    s = await createScenario(store);
  });
  afterEach(async () => {
    await s.relay.close();
    await store.close();
  });

  it(`${EVENT_TYPES.length} of ${EVENT_TYPES.length} types made by createEvent survive HTTP.binary → HTTP.toEvent → ingest, subject included`, async () => {
    const failures: string[] = [];
    for (const [index, type] of EVENT_TYPES.entries()) {
      const event = createEvent(type, VALID_DATA[type] as never, {
        source: 'https://iam.example.com',
        id: `sdk-${index}`,
        time: new Date(T0).toISOString(),
        idrelaysubject: alice,
      });
      try {
        const result = await s.relay.ingest(overBinaryHttp(event));
        const stored = await store.events.get(result.eventKey);
        if (result.eventKey !== eventKey(event)) failures.push(`${type}: key ${result.eventKey}`);
        else if (!stored) failures.push(`${type}: not stored`);
        else {
          expect(stored.event).toEqual(event);
          expect(eventSubject(stored.event)).toEqual(alice);
        }
      } catch (error) {
        failures.push(`${type}: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('finds the person through the subject that crossed binary mode, and reaches their devices', async () => {
    const denied = createEvent(
      'idrelay.access.denied',
      { requestId: 'req-3', approver: { id: 'bob' }, decidedAt: new Date(T0).toISOString() },
      {
        source: 'https://iam.example.com',
        id: 'denied-1',
        idrelaysubject: { format: 'email', email: 'Alice@Example.com' },
      },
    );
    await s.relay.ingest(overBinaryHttp(denied));
    await s.relay.drain();
    expect(s.received()).toEqual(['alice-browser', 'alice-iphone']);
  });

  it('still takes the object form of idrelaysubject that earlier versions sent in structured mode', async () => {
    const denied = createEvent(
      'idrelay.access.denied',
      { requestId: 'req-4', approver: { id: 'bob' }, decidedAt: new Date(T0).toISOString() },
      { source: 'https://iam.example.com', id: 'denied-2' },
    );
    await s.relay.ingest(JSON.stringify({ ...denied, idrelaysubject: alice }));
    await s.relay.drain();
    expect(s.received()).toEqual(['alice-browser', 'alice-iphone']);
  });

  it('answers a retry of an event stored with the old object subject as a duplicate, not a conflict', async () => {
    const event = createEvent(
      'idrelay.account.enabled',
      { userId: 'alice' },
      { source: 'https://iam.example.com', id: 'old-1', time: new Date(T0).toISOString() },
    );
    const { idrelaysubject: _, ...attributes } = event;
    const old = { ...attributes, idrelaysubject: alice } as unknown as IdentityEvent;
    const { key } = await store.events.record(old, T0);
    await store.events.markPlanned(key);
    const retry = await s.relay.ingest(JSON.stringify(old));
    expect(retry).toMatchObject({ duplicate: true });
    expect(retry.conflict).toBeFalsy();
  });

  it('takes an event without time, keyed by source and id alone, and digests it at the time it arrived', async () => {
    await s.relay.close();
    s = await createScenario(store, {
      templates: [
        {
          key: 'digest:operations',
          fields: { when: { path: 'digest.first.time', lockScreenSafe: true, fallback: 'no time' } },
          title: 'first failure at {{when}}',
        },
      ],
    });
    const { time: _, ...untimed } = createEvent(
      'idrelay.workflow.failed',
      { workflowId: 'wf-1', workflowName: 'Joiner', error: { message: 'Target system timed out' } },
      { source: 'https://iam.example.com', id: 'wf-fail-1' },
    );
    const first = await s.relay.ingest(untimed);
    expect(first.eventKey).toBe('https://iam.example.com#wf-fail-1');
    expect(first.duplicate).toBe(false);
    expect((await s.relay.ingest(untimed)).duplicate).toBe(true);
    s.clock.advance(5 * 60_000 + 1);
    await s.relay.drain();
    expect(s.received()).toEqual(['ivan-iphone', 'judy-pixel']);
    expect(s.transports.apns.sent[0]?.message.title).toBe(`first failure at ${new Date(T0).toISOString()}`);
  });
});
