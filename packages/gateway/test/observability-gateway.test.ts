/**
 * Metrics and logs of a running gateway: what an operator scrapes and reads after real requests — and that no
 * credential, code, proof or body ever reaches a log line.
 */
import { createRelay, defaultRules, type Relay } from '@idrelay/engine';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey, createGateway, type Gateway, gatewayActionUrls, resolveConfig } from '../src/index.js';
import {
  createLogger,
  createMetrics,
  createRequestLog,
  logDeliveries,
  logWebhooks,
  type Metrics,
} from '../src/observability/index.js';
import { createDeliveryLog } from '../src/outbound/index.js';
import { createRecordingTransport, deniedEvent, PUBLIC_URL, T0 } from './http-support.js';

const manualScheduler = { setTimeout: () => undefined, clearTimeout: () => {} };
const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setup() {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const store = createMemoryStore();
  const relay: Relay = createRelay({
    store,
    directory: createMemoryDirectory({
      users: [{ id: 'alice', subjects: [{ format: 'email', email: 'alice@example.com' }], attributes: {} }],
    }),
    transports: [createRecordingTransport('fcm')],
    rules: defaultRules({ securityGroup: 'soc', adminGroup: 'iam-admins' }),
    clock: { now: () => T0 },
    scheduler: manualScheduler,
    actions: gatewayActionUrls(PUBLIC_URL),
    logger,
  });
  await relay.devices.register({ userId: 'alice', deviceId: 'alice-pixel', platform: 'fcm', token: 'f'.repeat(32) });
  const keys = { ingest: createApiKey('iam', ['ingest']), admin: createApiKey('ops', ['admin']) };
  const config = resolveConfig(
    {
      publicUrl: PUBLIC_URL,
      apiKeys: Object.values(keys).map((k) => ({ id: k.entry.id, sha256: k.sha256, scopes: [...k.entry.scopes] })),
    },
    { cwd: process.cwd(), env: {} },
  );
  const metrics: Metrics = createMetrics({ store, processMetrics: false });
  const gateway: Gateway = createGateway({
    relay: metrics.observeRelay(relay),
    store,
    config,
    clock: { now: () => T0 },
    metrics,
    logger,
    requestLog: createRequestLog(logger),
  });
  closers.push(
    () => store.close(),
    () => relay.close(),
    () => gateway.close(),
    () => metrics.close(),
  );
  const request = (path: string, init?: RequestInit) =>
    Promise.resolve(gateway.app.request(`${PUBLIC_URL}${path}`, init));
  return { lines, logger, relay, store, metrics, keys, request };
}

const post = (key: string | undefined, body: unknown, type = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': type },
  body: JSON.stringify(body),
});

describe('createMetrics on a gateway', () => {
  it('counts ingested and planned events, deliveries, responses, HTTP latency and queue depth', async () => {
    const t = await setup();
    const event = deniedEvent('m-1');
    expect((await t.request('/v1/events', post(t.keys.ingest.key, event))).status).toBe(202);
    expect((await t.request('/v1/events', post(t.keys.ingest.key, event))).status).toBe(202);
    expect((await t.request('/v1/events', post(t.keys.ingest.key, { ...event, id: 'm-2', type: 'nope' }))).status).toBe(
      400,
    );
    const queued = await (await t.request('/metrics')).text();
    expect(queued).toContain('idrelay_queue_depth{status="pending"} 1');
    await t.relay.drain();
    const refused = await t.request('/v1/actions', post(undefined, { token: 'x', proof: 'y', decision: 'approve' }));
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect((await t.request('/no/such/route')).status).toBe(404);

    const scraped = await t.request('/metrics');
    expect(scraped.headers.get('content-type')).toBe(t.metrics.contentType);
    const text = await scraped.text();
    expect(text).toContain('idrelay_events_ingested_total{type="idrelay.access.denied",outcome="accepted"} 1');
    expect(text).toContain('idrelay_events_ingested_total{type="idrelay.access.denied",outcome="duplicate"} 1');
    expect(text).toContain('idrelay_events_planned_total{type="idrelay.access.denied"} 1');
    // A made-up type is counted as unknown, never as a label of its own.
    expect(text).toContain('idrelay_events_ingested_total{type="unknown",outcome="rejected"} 1');
    expect(text).not.toContain('type="nope"');
    expect(text).toContain('idrelay_deliveries_planned_total{type="idrelay.access.denied"} 1');
    expect(text).toContain('idrelay_deliveries_total{transport="fcm",outcome="delivered"} 1');
    expect(text).toContain('idrelay_queue_depth{status="pending"} 0');
    expect(text).toMatch(/idrelay_response_verifications_total\{outcome="ERR_[A-Z_]+"\} 1/);
    expect(text).toContain(
      'idrelay_http_request_duration_seconds_count{method="POST",route="/v1/events",status="202"} 2',
    );
    expect(text).toContain('route="unmatched",status="404"');
    expect(text).not.toContain('/no/such/route');
  });
});

describe('logs', () => {
  it('write one line per request and per delivery, and never a key, token, code, proof or body', async () => {
    const t = await setup();
    const stop = logDeliveries(t.relay, t.logger);
    closers.push(stop);
    const secrets: string[] = [t.keys.ingest.key, t.keys.admin.key];
    const event = { ...deniedEvent('log-1'), data: { ...deniedEvent('log-1').data, comment: 'BODY-SECRET-7f3a' } };
    secrets.push('BODY-SECRET-7f3a');
    await t.request('/v1/events', {
      ...post(t.keys.ingest.key, event),
      headers: {
        authorization: `Bearer ${t.keys.ingest.key}`,
        'content-type': 'application/json',
        'x-request-id': 'trace-42',
      },
    });
    const wrongKey = `idr_${'W'.repeat(43)}`;
    secrets.push(wrongKey);
    await t.request('/v1/events', post(wrongKey, event));
    const codeAnswer = await t.request('/v1/enrolment-codes', post(t.keys.admin.key, { userId: 'alice' }));
    const { code } = (await codeAnswer.json()) as { code: string };
    secrets.push(code);
    await t.request('/v1/actions', post(undefined, { token: 'TOKEN-SECRET-91', proof: 'PROOF-SECRET-92', code: '7' }));
    secrets.push('TOKEN-SECRET-91', 'PROOF-SECRET-92');
    await t.request('/v1/notifications/n-1/details?token=QUERY-SECRET-93', {
      headers: { authorization: 'DPoP AUTH-SECRET-94', 'x-api-key': 'APIKEY-SECRET-95' },
    });
    secrets.push('QUERY-SECRET-93', 'AUTH-SECRET-94', 'APIKEY-SECRET-95');
    await t.relay.drain();
    // Whatever a caller hands the logger, credentials and bodies are redacted.
    t.logger.warn(
      {
        headers: { authorization: 'Bearer HANDED-SECRET-96' },
        token: 'HANDED-SECRET-97',
        data: { numberMatch: { code: '42' }, proof: 'HANDED-SECRET-98' },
        body: 'HANDED-SECRET-99',
      },
      'careless caller',
    );
    secrets.push('HANDED-SECRET-96', 'HANDED-SECRET-97', 'HANDED-SECRET-98', 'HANDED-SECRET-99');

    const output = t.lines.join('');
    for (const secret of secrets) expect(output, secret).not.toContain(secret);
    const parsed = t.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = parsed.filter((l) => l.msg === 'request');
    expect(requests.map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/v1/events', 202],
      ['POST', '/v1/events', 401],
      ['POST', '/v1/enrolment-codes', 201],
      ['POST', '/v1/actions', expect.any(Number)],
      ['GET', '/v1/notifications/:notificationId/details', expect.any(Number)],
    ]);
    expect(requests[0]).toMatchObject({ requestId: 'trace-42', durationMs: expect.any(Number) });
    expect(requests[1]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed.filter((l) => l.msg === 'delivery')).toMatchObject([
      { transport: 'fcm', outcome: 'delivered', deviceId: 'alice-pixel' },
    ]);
    expect(parsed.at(-1)).toMatchObject({
      token: '[redacted]',
      body: '[redacted]',
      data: { numberMatch: '[redacted]' },
    });
  });
});

describe('webhook attempts', () => {
  it('are counted by endpoint and outcome and logged one line each, without the payload', async () => {
    const lines: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
    const metrics = createMetrics({ processMetrics: false });
    const log = createDeliveryLog();
    metrics.observeWebhooks(log);
    closers.push(logWebhooks(log, logger), () => metrics.close());
    const base = { endpoint: 'iam', eventId: 'e-1', type: 'idrelay.access.approved', webhookId: 'msg_1', at: T0 };
    log.record({ ...base, attempt: 1, outcome: 'retry', status: 503, durationMs: 3, code: 'ERR_WEBHOOK_UNAVAILABLE' });
    log.record({ ...base, attempt: 2, outcome: 'written', status: 204, durationMs: 2 });
    const text = await metrics.render();
    expect(text).toContain('idrelay_webhook_attempts_total{endpoint="iam",outcome="retry"} 1');
    expect(text).toContain('idrelay_webhook_attempts_total{endpoint="iam",outcome="written"} 1');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((l) => [l.level, l.msg, l.outcome, l.status])).toEqual([
      [40, 'webhook', 'retry', 503],
      [30, 'webhook', 'written', 204],
    ]);
  });
});
