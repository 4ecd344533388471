/** Every route's happy path, in-process through `app.request()`. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestGateway, deniedEvent, makeDevice, proof, type TestGateway } from './http-support.js';

let t: TestGateway;
beforeEach(async () => {
  t = await createTestGateway();
});
afterEach(() => t.close());

const json = (key: string, body: unknown, type = 'application/json'): RequestInit => ({
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': type },
  body: JSON.stringify(body),
});
const get = (key: string): RequestInit => ({ headers: { authorization: `Bearer ${key}` } });

describe('POST /v1/events', () => {
  it('ingests a structured event and says what it planned', async () => {
    const alice = makeDevice('alice-pixel');
    expect((await t.enrol('alice', alice)).status).toBe(201);
    const event = deniedEvent('e-1');
    const response = await t.request('/v1/events', json(t.keys.ingest, event, 'application/cloudevents+json'));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { results: { status: string; deliveries: number; eventKey: string }[] };
    expect(body.results).toEqual([
      expect.objectContaining({ id: 'e-1', source: 'https://iam.example.com', status: 'planned', deliveries: 1 }),
    ]);
    await t.relay.drain();
    expect(t.sent().map((p) => p.target.deviceId)).toEqual(['alice-pixel']);
  });

  it('is idempotent by source and id: a retry is a duplicate and sends nothing more', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const event = deniedEvent('e-2');
    await t.request('/v1/events', json(t.keys.ingest, event));
    const again = await t.request('/v1/events', json(t.keys.ingest, event));
    expect(((await again.json()) as { results: { status: string }[] }).results[0]?.status).toBe('duplicate');
    await t.relay.drain();
    expect(t.sent()).toHaveLength(1);
  });

  it('takes a batch (cloudevents-batch+json and a plain JSON array)', async () => {
    const batch = await t.request(
      '/v1/events',
      json(t.keys.ingest, [deniedEvent('b-1'), deniedEvent('b-2')], 'application/cloudevents-batch+json'),
    );
    expect(batch.status).toBe(202);
    expect(((await batch.json()) as { results: { id: string }[] }).results.map((r) => r.id)).toEqual(['b-1', 'b-2']);
    const plain = await t.request('/v1/events', json(t.keys.ingest, [deniedEvent('b-3')]));
    expect(((await plain.json()) as { results: unknown[] }).results).toHaveLength(1);
  });

  it('takes binary mode: ce-* headers and the data as the body', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const event = deniedEvent('bin-1');
    const response = await t.request('/v1/events', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.keys.ingest}`,
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-source': event.source,
        'ce-type': event.type,
        'ce-time': event.time as string,
        'ce-idrelaysubject': event.idrelaysubject as string,
      },
      body: JSON.stringify(event.data),
    });
    expect(response.status).toBe(202);
    const stored = await t.store.events.get('https://iam.example.com#bin-1');
    expect(stored?.event).toMatchObject({ id: 'bin-1', type: 'idrelay.access.denied', data: event.data });
    await t.relay.drain();
    expect(t.sent()).toHaveLength(1);
  });
});

describe('devices', () => {
  it('issues a code, enrols with it, lists, patches and unregisters', async () => {
    const device = makeDevice('alice-phone');
    const enrolled = await t.enrol('alice', device, { platform: 'apns', token: 'a1a1a1a1a1a1a1a1' });
    expect(enrolled.status).toBe(201);
    expect(await enrolled.json()).toMatchObject({
      device: { deviceId: 'alice-phone', userId: 'alice', platform: 'apns', enrolled: true, keyAlgorithm: 'ES256' },
      replaced: false,
    });

    const list = await t.request('/v1/users/alice/devices', get(t.keys.admin));
    const listed = (await list.json()) as { devices: Record<string, unknown>[] };
    expect(listed.devices.map((d) => d.deviceId)).toEqual(['alice-phone']);
    expect(JSON.stringify(listed)).not.toContain('a1a1a1a1a1a1a1a1');

    const patched = await t.request('/v1/devices/alice-phone', {
      ...json(t.keys.admin, { name: 'Work phone', token: 'b2b2b2b2b2b2b2b2' }),
      method: 'PATCH',
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ name: 'Work phone' });
    expect(await t.store.devices.get('alice-phone')).toMatchObject({ token: 'b2b2b2b2b2b2b2b2' });

    const removed = await t.request('/v1/devices/alice-phone', { ...get(t.keys.admin), method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(await t.store.devices.get('alice-phone')).toBeUndefined();
    const again = await t.request('/v1/devices/alice-phone', { ...get(t.keys.admin), method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { code: string }).code).toBe('ERR_DEVICE_NOT_FOUND');
  });

  it('enrols with a bearer token checked by the relay’s verifyBearer, and refuses one it rejects', async () => {
    await t.close();
    t = await createTestGateway({
      relay: { verifyBearer: async (token) => (token === 'oidc-token-of-alice' ? { userId: 'alice' } : undefined) },
    });
    const device = makeDevice('alice-web');
    const enrol = (bearer: string) =>
      t.request('/v1/devices/enrol', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({
          deviceId: 'alice-web',
          platform: 'fcm',
          token: 'f1f1f1f1f1f1f1f1',
          publicKey: device.publicJwk,
          algorithm: 'ES256',
        }),
      });
    const refused = await enrol('someone-elses-token');
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('ERR_ENROL_BEARER_INVALID');
    expect(await t.store.devices.get('alice-web')).toBeUndefined();
    const accepted = await enrol('oidc-token-of-alice');
    expect(accepted.status).toBe(201);
    expect((await t.store.devices.get('alice-web'))?.userId).toBe('alice');
  });
});

describe('verification, details and the signed response', () => {
  it('starts a verification, serves the details to the device, applies its approval, reports the outcome', async () => {
    const device = makeDevice('alice-pixel');
    await t.enrol('alice', device);
    const started = await t.request(
      '/v1/verifications',
      json(t.keys.ingest, { userId: 'alice', application: { id: 'payroll', name: 'Payroll' }, ip: '203.0.113.7' }),
    );
    expect(started.status).toBe(201);
    const { verificationId, code } = (await started.json()) as { verificationId: string; code: string };
    expect(code).toMatch(/^\d{6}$/);

    await t.relay.drain();
    const push = t.sent().find((p) => p.target.deviceId === 'alice-pixel');
    const tok = push?.target.data?.tok as string;
    const nid = push?.target.data?.nid as string;
    expect(JSON.stringify(push)).not.toContain(code);

    const details = await t.request(`/v1/notifications/${encodeURIComponent(nid)}/details`, {
      headers: {
        'idrelay-token': tok,
        'idrelay-proof': await proof(device, tok, t.clock.now(), { method: 'GET', notificationId: nid }),
      },
    });
    expect(details.status, await details.clone().text()).toBe(200);
    expect(await details.json()).toMatchObject({ notificationId: nid, kind: 'login-verification' });

    const answer = await t.request('/v1/actions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: tok,
        proof: await proof(device, tok, t.clock.now(), { method: 'POST', decision: 'approve', code }),
      }),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ status: 'applied', decision: 'approve', state: 'approved' });

    const outcome = await t.request(`/v1/verifications/${verificationId}`, get(t.keys.ingest));
    expect(await outcome.json()).toMatchObject({ verificationId, userId: 'alice', status: 'approved' });
  });
});

describe('preview, flows and deliveries', () => {
  it('previews without sending or storing', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    const response = await t.request('/v1/preview', json(t.keys.preview, deniedEvent('p-1')));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { alreadyIngested: boolean; notifications: unknown[] };
    expect(body.alreadyIngested).toBe(false);
    expect(body.notifications.length).toBeGreaterThan(0);
    expect(await t.store.events.get('https://iam.example.com#p-1')).toBeUndefined();
    await t.relay.drain();
    expect(t.sent()).toEqual([]);
  });

  it('lists an event’s deliveries by key or by source and id, without tokens', async () => {
    await t.enrol('alice', makeDevice('alice-pixel'));
    await t.request('/v1/events', json(t.keys.ingest, deniedEvent('d-1')));
    await t.relay.drain();
    const byKey = await t.request(
      `/v1/deliveries?event=${encodeURIComponent('https://iam.example.com#d-1')}`,
      get(t.keys.admin),
    );
    expect(byKey.status).toBe(200);
    const body = (await byKey.json()) as { deliveries: Record<string, unknown>[] };
    expect(body).toMatchObject({ total: 1, truncated: false });
    expect(body.deliveries).toEqual([
      expect.objectContaining({ deviceId: 'alice-pixel', userId: 'alice', status: 'delivered', attempts: 1 }),
    ]);
    expect(JSON.stringify(body)).not.toContain('fcm-token-');
    const bySource = await t.request(
      `/v1/deliveries?source=${encodeURIComponent('https://iam.example.com')}&id=d-1`,
      get(t.keys.ingest),
    );
    expect(((await bySource.json()) as { deliveries: unknown[] }).deliveries).toHaveLength(1);
    const unknown = await t.request('/v1/deliveries?event=nope%23nope', get(t.keys.admin));
    expect(unknown.status).toBe(404);
  });

  it('reads a flow, and answers 404 for an unknown one', async () => {
    const flow = await t.relay.verifications
      .start({ userId: 'alice', application: 'Payroll' })
      .catch((error: { code: string }) => error.code);
    // alice has no enrolled device yet: the engine refuses before any flow exists.
    expect(flow).toBe('ERR_VERIFICATION_NO_DEVICE');
    await t.enrol('alice', makeDevice('alice-pixel'));
    const { verificationId } = await t.relay.verifications.start({ userId: 'alice', application: 'Payroll' });
    const response = await t.request(`/v1/flows/${verificationId}`, get(t.keys.admin));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: verificationId, kind: 'login-verification', state: 'pending' });
    const missing = await t.request('/v1/flows/nope', get(t.keys.admin));
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('ERR_FLOW_NOT_FOUND');
  });
});

describe('service routes', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await (await t.request('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await t.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok' } });
  });

  it('answers 503 on /readyz when the store or a transport check fails', async () => {
    await t.close();
    t = await createTestGateway({
      options: {
        readiness: {
          apns: () => {
            throw new Error('stand-in not started');
          },
        },
      },
    });
    const ready = await t.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', checks: { store: 'ok', apns: 'unavailable' } });
  });

  it('mounts /metrics when given', async () => {
    await t.close();
    t = await createTestGateway({
      options: { metrics: { contentType: 'text/plain; version=0.0.4', render: async () => 'idrelay_up 1\n' } },
    });
    const metrics = await t.request('/metrics');
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4');
    expect(await metrics.text()).toBe('idrelay_up 1\n');
    expect(t.gateway.openapi.paths['/metrics']).toBeDefined();
  });
});

describe('logging hooks', () => {
  it('mounts requestLog first (it sees 404s too) and logs server-side failures, without the key', async () => {
    await t.close();
    const seen: string[] = [];
    const errors: Record<string, unknown>[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (fields: Record<string, unknown>) => errors.push(fields),
    };
    t = await createTestGateway({
      options: {
        logger,
        requestLog: async (c, next) => {
          await next();
          seen.push(`${c.req.method} ${c.req.path} ${c.res.status}`);
        },
      },
    });
    await t.request('/nowhere');
    await t.relay.close();
    const response = await t.request('/v1/events', json(t.keys.ingest, deniedEvent('late-1')));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe('ERR_RELAY_CLOSED');
    expect(seen).toEqual(['GET /nowhere 404', 'POST /v1/events 503']);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_RELAY_CLOSED' })]);
    expect(JSON.stringify(errors)).not.toContain(t.keys.ingest);
  });
});
