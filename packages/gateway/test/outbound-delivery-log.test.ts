/** The per-endpoint delivery log and subscription set-up, without a relay. */
import { isIdrelayError } from '@idrelay/core';
import { describe, expect, it } from 'vitest';
import { createDeliveryLog, createWebhookSubscriptions, type DeliveryAttempt } from '../src/outbound/index.js';
import { newSecret } from './support/outbound-fixtures.js';

const attempt = (endpoint: string, n: number): DeliveryAttempt => ({
  endpoint,
  eventId: `e-${n}`,
  type: 'idrelay.access.approved',
  webhookId: `msg_${n}`,
  attempt: 1,
  outcome: 'written',
  status: 204,
  durationMs: 1,
  at: n,
});

describe('createDeliveryLog', () => {
  it('keeps the last attempts of each endpoint, oldest first, in bounded memory', () => {
    const log = createDeliveryLog({ perEndpoint: 3 });
    for (let n = 1; n <= 7; n++) log.record(attempt('iam', n));
    log.record(attempt('soc', 100));
    expect(log.log('iam').map((a) => a.eventId)).toEqual(['e-5', 'e-6', 'e-7']);
    expect(log.log('soc').map((a) => a.eventId)).toEqual(['e-100']);
    expect(log.log('unknown')).toEqual([]);
    expect(log.endpoints().sort()).toEqual(['iam', 'soc']);
    // A copy: changing what was returned does not change the log.
    const [first] = log.log('iam');
    if (first) first.status = 500;
    expect(log.log('iam')[0]?.status).toBe(204);
  });

  it('tells subscribers about each attempt, and a throwing subscriber does not stop the record', () => {
    const log = createDeliveryLog();
    const seen: string[] = [];
    log.subscribe(() => {
      throw new Error('observer broke');
    });
    const stop = log.subscribe((a) => seen.push(a.eventId));
    log.record(attempt('iam', 1));
    stop();
    log.record(attempt('iam', 2));
    expect(seen).toEqual(['e-1']);
    expect(log.log('iam')).toHaveLength(2);
  });

  it('refuses a size outside 1 to 100,000', () => {
    expect(() => createDeliveryLog({ perEndpoint: 0 })).toThrow(TypeError);
    expect(() => createDeliveryLog({ perEndpoint: 1.5 })).toThrow(TypeError);
  });
});

describe('createWebhookSubscriptions', () => {
  it('names subscriptions by host and path unless named, and refuses two with one name', () => {
    const secret = newSecret();
    const webhooks = createWebhookSubscriptions({
      subscriptions: [
        { url: 'https://soc.example.com/idrelay', secret, types: ['idrelay.auth.risk.detected'] },
        { name: 'iam', url: 'https://iam.example.com/hooks', secret, types: ['idrelay.access.approved'] },
      ],
    });
    expect(webhooks.writeBacks.map((w) => [w.name, w.types])).toEqual([
      ['webhook:soc.example.com/idrelay', ['idrelay.auth.risk.detected']],
      ['iam', ['idrelay.access.approved']],
    ]);
    try {
      createWebhookSubscriptions({
        subscriptions: [
          { url: 'https://soc.example.com/idrelay', secret, types: ['idrelay.auth.risk.detected'] },
          { url: 'https://soc.example.com/idrelay', secret, types: ['idrelay.access.approved'] },
        ],
      });
      expect.unreachable('two subscriptions with one name were accepted');
    } catch (error) {
      expect(isIdrelayError(error, 'ERR_WEBHOOK_CONFIG')).toBe(true);
    }
  });
});
