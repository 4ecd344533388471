import { beforeAll, describe, expect, it } from 'vitest';
import { createSsfPoller, SSF_EVENT_TYPES, type SsfPollerOptions, type SsfSignal } from '../src/index.js';
import { AUDIENCE, createTestTransmitter, ISSUER, T0 } from './transmitter.js';

const ENDPOINT = 'https://tx.example.test/ssf/poll';
const DISABLED = { [SSF_EVENT_TYPES.riscAccountDisabled]: {} };
let tx: Awaited<ReturnType<typeof createTestTransmitter>>;

beforeAll(async () => {
  tx = await createTestTransmitter();
});

interface PollBody {
  maxEvents: number;
  returnImmediately: boolean;
  ack?: string[];
  setErrs?: Record<string, { err: string; description: string }>;
}

/** A transmitter's poll endpoint (RFC 8936 §2.4): keeps SETs until acknowledged or reported. */
function pollEndpoint() {
  const queue = new Map<string, string>();
  const bodies: PollBody[] = [];
  const headers: Headers[] = [];
  let failNext = 0;
  const handler: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    headers.push(request.headers);
    const body = (await request.json()) as PollBody;
    bodies.push(body);
    if (failNext > 0) {
      failNext--;
      return new Response('busy', { status: 503 });
    }
    for (const jti of body.ack ?? []) queue.delete(jti);
    for (const jti of Object.keys(body.setErrs ?? {})) queue.delete(jti);
    const sets = Object.fromEntries([...queue].slice(0, body.maxEvents));
    return Response.json({ sets, moreAvailable: queue.size > body.maxEvents });
  };
  return { queue, bodies, headers, fetch: handler, failOnce: () => (failNext = 1) };
}

function poller(endpoint: ReturnType<typeof pollEndpoint>, overrides: Partial<SsfPollerOptions> = {}) {
  const signals: SsfSignal[] = [];
  const p = createSsfPoller({
    endpoint: ENDPOINT,
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: tx.jwks,
    authorization: () => 'Bearer poll-token',
    fetch: endpoint.fetch,
    now: () => T0,
    onSignal: (signal) => {
      signals.push(signal);
    },
    ...overrides,
  });
  return { p, signals };
}

describe('createSsfPoller (RFC 8936)', () => {
  it('takes the SETs, acknowledges them on the next poll, and sends maxEvents, returnImmediately and authorization', async () => {
    const endpoint = pollEndpoint();
    endpoint.queue.set('a', await tx.sign(DISABLED, { jti: 'a' }));
    endpoint.queue.set('b', await tx.sign(DISABLED, { jti: 'b' }));
    const { p, signals } = poller(endpoint, { maxEvents: 5 });
    expect(await p.poll({ returnImmediately: true })).toEqual({
      received: 2,
      taken: 2,
      refused: 0,
      deferred: 0,
      moreAvailable: false,
    });
    expect(signals.map((s) => s.event?.type)).toEqual(['idrelay.account.disabled', 'idrelay.account.disabled']);
    expect(endpoint.bodies[0]).toEqual({ maxEvents: 5, returnImmediately: true });
    expect(endpoint.headers[0]?.get('authorization')).toBe('Bearer poll-token');
    expect(await p.poll()).toMatchObject({ received: 0 });
    expect(endpoint.bodies[1]).toEqual({ maxEvents: 5, returnImmediately: false, ack: ['a', 'b'] });
    expect(endpoint.queue.size).toBe(0);
  });

  it('reports a refused SET in setErrs with its RFC 8935 code and never hands it over', async () => {
    const endpoint = pollEndpoint();
    endpoint.queue.set('bad', await tx.sign(DISABLED, { jti: 'bad', aud: 'https://other.example' }));
    endpoint.queue.set('junk', 'not-a-jwt');
    const { p, signals } = poller(endpoint);
    expect(await p.poll()).toMatchObject({ received: 2, refused: 2, taken: 0 });
    await p.poll();
    expect(endpoint.bodies[1]?.setErrs).toEqual({
      bad: { err: 'invalid_audience', description: expect.any(String) },
      junk: { err: 'invalid_request', description: expect.any(String) },
    });
    expect(endpoint.bodies[1]?.ack).toBeUndefined();
    expect(signals).toHaveLength(0);
  });

  it('leaves a SET whose onSignal failed unacknowledged, and takes its redelivery', async () => {
    const endpoint = pollEndpoint();
    endpoint.queue.set('r', await tx.sign(DISABLED, { jti: 'r' }));
    let fail = true;
    const taken: string[] = [];
    const { p } = poller(endpoint, {
      onSignal: (signal) => {
        if (fail) throw new Error('store down');
        taken.push(signal.jti);
      },
    });
    expect(await p.poll()).toMatchObject({ received: 1, deferred: 1, taken: 0 });
    fail = false;
    expect(await p.poll()).toMatchObject({ received: 1, taken: 1 });
    expect(endpoint.bodies[1]).not.toHaveProperty('ack');
    expect(taken).toEqual(['r']);
  });

  it('acknowledges a redelivery of a SET already taken (a lost acknowledgement) without handing it over twice', async () => {
    const endpoint = pollEndpoint();
    const set = await tx.sign(DISABLED, { jti: 'dup' });
    endpoint.queue.set('dup', set);
    const { p, signals } = poller(endpoint);
    await p.poll();
    endpoint.failOnce(); // the poll carrying the ack fails; the transmitter never saw it
    await expect(p.poll()).rejects.toMatchObject({ code: 'ERR_SSF_POLL_FAILED', details: { status: 503 } });
    // The ack is kept and sent again; the transmitter had redelivered meanwhile.
    expect(await p.poll()).toMatchObject({ received: 0 });
    expect(endpoint.bodies[2]?.ack).toEqual(['dup']);
    endpoint.queue.set('dup', set);
    expect(await p.poll()).toMatchObject({ received: 1, taken: 1 });
    expect(signals).toHaveLength(1);
    await p.poll();
    expect(endpoint.bodies[4]?.ack).toEqual(['dup']);
  });

  it('fails with ERR_SSF_POLL_FAILED on a network error or an answer without sets', async () => {
    const down = createSsfPoller({
      endpoint: ENDPOINT,
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: tx.jwks,
      authorization: () => 'Bearer x',
      onSignal: () => {},
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.poll()).rejects.toMatchObject({ code: 'ERR_SSF_POLL_FAILED' });
    const odd = createSsfPoller({
      endpoint: ENDPOINT,
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: tx.jwks,
      authorization: () => 'Bearer x',
      onSignal: () => {},
      fetch: async () => Response.json({ events: [] }),
    });
    await expect(odd.poll()).rejects.toMatchObject({ code: 'ERR_SSF_POLL_FAILED' });
  });
});
