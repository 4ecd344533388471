import { beforeAll, describe, expect, it } from 'vitest';
import {
  createSsfPushReceiver,
  createSsfTransmitterClient,
  SSF_EVENT_TYPES,
  type SsfSignal,
  ssfConfigurationUrl,
} from '../src/index.js';
import { AUDIENCE, createTestTransmitter, ISSUER, T0 } from './transmitter.js';

let tx: Awaited<ReturnType<typeof createTestTransmitter>>;
beforeAll(async () => {
  tx = await createTestTransmitter();
});

/**
 * A test SSF transmitter's management API as a fetch: discovery, stream creation, and verification requests that
 * push a verification SET to the stream's receiver.
 */
function transmitterApi(receiver: (request: Request) => Promise<Response>, overrides: Record<string, unknown> = {}) {
  const streams = new Map<string, { delivery: { endpoint_url: string; authorization_header: string } }>();
  const seen: Request[] = [];
  const pushes: number[] = [];
  const api: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    seen.push(request.clone());
    const url = new URL(request.url);
    if (url.pathname === '/.well-known/ssf-configuration') {
      return Response.json({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/jwks`,
        delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
        configuration_endpoint: `${ISSUER}/ssf/stream`,
        verification_endpoint: `${ISSUER}/ssf/verify`,
        ...overrides,
      });
    }
    if (request.headers.get('authorization') !== 'Bearer manage') return new Response(null, { status: 401 });
    if (url.pathname === '/ssf/stream' && request.method === 'POST') {
      const body = (await request.json()) as { delivery: { endpoint_url: string; authorization_header: string } };
      const id = `stream-${streams.size + 1}`;
      streams.set(id, body);
      return Response.json({ stream_id: id, iss: ISSUER, aud: AUDIENCE, ...body }, { status: 201 });
    }
    if (url.pathname === '/ssf/verify' && request.method === 'POST') {
      const { stream_id, state } = (await request.json()) as { stream_id: string; state?: string };
      const stream = streams.get(stream_id);
      if (!stream) return new Response(null, { status: 404 });
      const set = await tx.sign(
        { [SSF_EVENT_TYPES.ssfVerification]: { state } },
        { sub_id: { format: 'opaque', id: stream_id } },
      );
      const pushed = await receiver(
        new Request(stream.delivery.endpoint_url, {
          method: 'POST',
          headers: { 'content-type': 'application/secevent+jwt', authorization: stream.delivery.authorization_header },
          body: set,
        }),
      );
      pushes.push(pushed.status);
      return new Response(null, { status: 204 });
    }
    return new Response(null, { status: 404 });
  };
  return { api, seen, pushes };
}

describe('createSsfTransmitterClient', () => {
  it('puts /.well-known/ssf-configuration before the issuer path', () => {
    expect(ssfConfigurationUrl('https://tx.example/').href).toBe('https://tx.example/.well-known/ssf-configuration');
    expect(ssfConfigurationUrl('https://tx.example/tenants/a').href).toBe(
      'https://tx.example/.well-known/ssf-configuration/tenants/a',
    );
  });

  it('discovers, creates a push stream, and a verification request arrives at the receiver as a stream signal', async () => {
    const signals: SsfSignal[] = [];
    const receive = createSsfPushReceiver({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: tx.jwks,
      authorization: 'Bearer push-secret',
      now: () => T0,
      onSignal: (signal) => {
        signals.push(signal);
      },
    });
    const { api, seen, pushes } = transmitterApi(receive);
    const client = createSsfTransmitterClient({ issuer: ISSUER, authorization: () => 'Bearer manage', fetch: api });
    expect((await client.metadata()).delivery_methods_supported).toContain('urn:ietf:rfc:8935');
    const stream = await client.createStream({
      delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: AUDIENCE, authorization_header: 'Bearer push-secret' },
      events_requested: [SSF_EVENT_TYPES.caepSessionRevoked],
    });
    expect(stream).toMatchObject({ stream_id: 'stream-1', iss: ISSUER });
    await client.requestVerification(stream.stream_id, 'nonce-7');
    expect(pushes).toEqual([202]);
    expect(signals[0]).toMatchObject({ mapping: 'stream', payload: { state: 'nonce-7' } });
    // Discovery ran once, without credentials; management calls carried them.
    expect(seen.filter((r) => r.url.includes('well-known'))).toHaveLength(1);
    expect(seen[0]?.headers.get('authorization')).toBeNull();
  });

  it('refuses metadata naming another issuer, and a transmitter without a configuration endpoint', async () => {
    const wrong = transmitterApi(async () => new Response(null), { issuer: 'https://evil.example' });
    const client = createSsfTransmitterClient({
      issuer: ISSUER,
      authorization: () => 'Bearer manage',
      fetch: wrong.api,
    });
    await expect(client.metadata()).rejects.toMatchObject({ code: 'ERR_SSF_TRANSMITTER_REFUSED' });
    const bare = transmitterApi(async () => new Response(null), { configuration_endpoint: undefined });
    const other = createSsfTransmitterClient({ issuer: ISSUER, authorization: () => 'Bearer manage', fetch: bare.api });
    await expect(
      other.createStream({ delivery: { method: 'urn:ietf:rfc:8936' }, events_requested: [] }),
    ).rejects.toMatchObject({
      code: 'ERR_SSF_TRANSMITTER_REFUSED',
      message: expect.stringMatching(/configuration_endpoint/),
    });
  });

  it('reports 4xx as refused with the status, and network failures and 5xx as unavailable', async () => {
    const { api } = transmitterApi(async () => new Response(null));
    const unauthorized = createSsfTransmitterClient({ issuer: ISSUER, authorization: () => 'Bearer nope', fetch: api });
    await expect(
      unauthorized.createStream({ delivery: { method: 'urn:ietf:rfc:8936' }, events_requested: [] }),
    ).rejects.toMatchObject({ code: 'ERR_SSF_TRANSMITTER_REFUSED', details: { status: 401 } });
    const down = createSsfTransmitterClient({
      issuer: ISSUER,
      authorization: () => 'Bearer manage',
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.metadata()).rejects.toMatchObject({ code: 'ERR_SSF_TRANSMITTER_UNAVAILABLE' });
    const failing = createSsfTransmitterClient({
      issuer: ISSUER,
      authorization: () => 'Bearer manage',
      fetch: async () => new Response('oops', { status: 502 }),
    });
    await expect(failing.metadata()).rejects.toMatchObject({
      code: 'ERR_SSF_TRANSMITTER_UNAVAILABLE',
      details: { status: 502 },
    });
  });
});
