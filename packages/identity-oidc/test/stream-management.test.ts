import { beforeEach, describe, expect, it } from 'vitest';
import {
  createSsfPushReceiver,
  createSsfTransmitterClient,
  SSF_EVENT_TYPES,
  type SsfSignal,
  type SsfTransmitterClient,
} from '../src/index.js';
import { AUDIENCE, createTestTransmitter, ISSUER, T0 } from './transmitter.js';
import { createTransmitterApi } from './transmitter-api.js';

const ALICE = { format: 'email', email: 'alice@example.com' };
const BOB = { format: 'iss_sub', iss: 'https://idp.example', sub: 'bob' };
const PUSH = {
  method: 'urn:ietf:rfc:8935' as const,
  endpoint_url: AUDIENCE,
  authorization_header: 'Bearer push-secret',
};

let signals: SsfSignal[];
let transmitter: ReturnType<typeof createTransmitterApi>;
let tx: SsfTransmitterClient;

beforeEach(async () => {
  const signer = await createTestTransmitter();
  signals = [];
  const receive = createSsfPushReceiver({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: signer.jwks,
    authorization: 'Bearer push-secret',
    now: () => T0,
    onSignal: (signal) => {
      signals.push(signal);
    },
  });
  transmitter = createTransmitterApi(signer, receive);
  tx = createSsfTransmitterClient({ issuer: ISSUER, authorization: () => 'Bearer manage', fetch: transmitter.api });
});

const created = () =>
  tx.createStream({ delivery: PUSH, events_requested: [SSF_EVENT_TYPES.riscAccountDisabled], description: 'relay' });

describe('SSF stream management (SSF 1.0 §8.1) against the test transmitter', () => {
  it('reads a stream and lists the receiver’s streams', async () => {
    const stream = await created();
    await tx.createStream({ delivery: PUSH, events_requested: [] });
    expect(await tx.getStream(stream.stream_id)).toMatchObject({
      stream_id: stream.stream_id,
      iss: ISSUER,
      aud: AUDIENCE,
      events_delivered: [SSF_EVENT_TYPES.riscAccountDisabled],
      description: 'relay',
    });
    expect((await tx.listStreams()).map((s) => s.stream_id)).toEqual([stream.stream_id, 'stream-2']);
  });

  it('updates (PATCH) only the members given, and replaces (PUT) them all', async () => {
    const stream = await created();
    const events = [SSF_EVENT_TYPES.riscAccountDisabled, SSF_EVENT_TYPES.caepSessionRevoked, 'https://x.example/e'];
    const patched = await tx.updateStream(stream.stream_id, { events_requested: events });
    // The transmitter delivers what it supports of what was asked; the description stays.
    expect(patched).toMatchObject({
      events_delivered: [SSF_EVENT_TYPES.riscAccountDisabled, SSF_EVENT_TYPES.caepSessionRevoked],
      description: 'relay',
    });
    const replaced = await tx.replaceStream(stream.stream_id, {
      delivery: { ...PUSH, endpoint_url: `${AUDIENCE}/v2` },
      events_requested: [SSF_EVENT_TYPES.caepCredentialChange],
    });
    expect(replaced.description).toBeUndefined();
    expect(replaced.delivery.endpoint_url).toBe(`${AUDIENCE}/v2`);
    expect(await tx.getStream(stream.stream_id)).toEqual(replaced);
  });

  it('deletes a stream: reading it afterwards is refused with 404, and events stop', async () => {
    const stream = await created();
    await tx.addSubject(stream.stream_id, ALICE);
    await tx.deleteStream(stream.stream_id);
    await expect(tx.getStream(stream.stream_id)).rejects.toMatchObject({
      code: 'ERR_SSF_TRANSMITTER_REFUSED',
      details: { status: 404 },
    });
    await transmitter.emit(ALICE, SSF_EVENT_TYPES.riscAccountDisabled);
    expect(signals).toEqual([]);
    await expect(tx.deleteStream(stream.stream_id)).rejects.toMatchObject({ details: { status: 404 } });
  });

  it('adds and removes subjects: only added subjects’ events arrive (default_subjects NONE)', async () => {
    const stream = await created();
    await tx.addSubject(stream.stream_id, ALICE, { verified: true });
    await transmitter.emit(ALICE, SSF_EVENT_TYPES.riscAccountDisabled, { reason: 'hijacking' });
    await transmitter.emit(BOB, SSF_EVENT_TYPES.riscAccountDisabled);
    expect(signals.map((s) => [s.mapping, s.event?.type, s.subject])).toEqual([
      ['mapped', 'idrelay.account.disabled', ALICE],
    ]);
    await tx.removeSubject(stream.stream_id, ALICE);
    await transmitter.emit(ALICE, SSF_EVENT_TYPES.riscAccountDisabled);
    expect(signals).toHaveLength(1);
    await expect(tx.removeSubject(stream.stream_id, ALICE)).rejects.toMatchObject({ details: { status: 404 } });
  });

  it('reads and sets the status: paused holds events until enabled, disabled drops them', async () => {
    const stream = await created();
    await tx.addSubject(stream.stream_id, ALICE);
    expect(await tx.getStatus(stream.stream_id)).toMatchObject({ status: 'enabled' });

    expect(await tx.updateStatus(stream.stream_id, 'paused', 'maintenance')).toEqual({
      stream_id: stream.stream_id,
      status: 'paused',
      reason: 'maintenance',
    });
    await transmitter.emit(ALICE, SSF_EVENT_TYPES.riscAccountDisabled);
    expect(signals).toHaveLength(0);
    await tx.updateStatus(stream.stream_id, 'enabled');
    expect(signals).toHaveLength(1);
    expect(transmitter.pushes).toEqual([202]);

    await tx.updateStatus(stream.stream_id, 'disabled');
    await transmitter.emit(ALICE, SSF_EVENT_TYPES.riscAccountDisabled);
    await tx.updateStatus(stream.stream_id, 'enabled');
    expect(signals).toHaveLength(1);
    expect(await tx.getStatus(stream.stream_id)).toMatchObject({ status: 'enabled' });
  });

  it('refuses bad arguments before calling, and reports the transmitter’s refusals', async () => {
    const stream = await created();
    await expect(tx.getStream('')).rejects.toThrow(TypeError);
    await expect(tx.updateStatus(stream.stream_id, 'stopped' as never)).rejects.toThrow(TypeError);
    await expect(tx.addSubject(stream.stream_id, { email: 'a@b' } as never)).rejects.toThrow(TypeError);
    // A PUT without every receiver-supplied member, and a PATCH of a transmitter-supplied one, are 400s.
    await expect(tx.replaceStream(stream.stream_id, { events_requested: [] } as never)).rejects.toMatchObject({
      code: 'ERR_SSF_TRANSMITTER_REFUSED',
      details: { status: 400 },
    });
    await expect(tx.updateStream(stream.stream_id, { iss: 'https://evil' } as never)).rejects.toMatchObject({
      details: { status: 400 },
    });
    await expect(tx.getStatus('stream-404')).rejects.toMatchObject({ details: { status: 404 } });
    const anonymous = createSsfTransmitterClient({
      issuer: ISSUER,
      authorization: () => 'Bearer x',
      fetch: transmitter.api,
    });
    await expect(anonymous.listStreams()).rejects.toMatchObject({ details: { status: 401 } });
  });

  it('treats 429 as retryable, and a status answer for another stream as unusable', async () => {
    const busy = createSsfTransmitterClient({
      issuer: ISSUER,
      authorization: () => 'Bearer manage',
      fetch: async (input, init) => {
        const url = new URL(input instanceof Request ? input.url : input);
        if (url.pathname.includes('well-known')) return transmitter.api(input, init);
        if (url.pathname === '/ssf/status') return Response.json({ stream_id: 'other', status: 'enabled' });
        return new Response(null, { status: 429, headers: { 'retry-after': '5' } });
      },
    });
    await expect(busy.listStreams()).rejects.toMatchObject({
      code: 'ERR_SSF_TRANSMITTER_UNAVAILABLE',
      details: { status: 429 },
    });
    await expect(busy.getStatus('stream-1')).rejects.toMatchObject({ code: 'ERR_SSF_TRANSMITTER_REFUSED' });
  });
});
