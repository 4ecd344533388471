/**
 * Every case of docs/protocol-vectors.json against the engine with the vectors' fixed clock: the published signed
 * requests get exactly the published verdicts, so a partner's implementation and ours agree on the same bytes.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createMemoryDirectory, createMemoryStore } from '@idrelay/testkit';
import { describe, expect, it } from 'vitest';
import { createRelay, errorOf } from './support/vector-relay.js';

interface VectorsFile {
  now: number;
  devices: { deviceId: string; userId: string; algorithm: 'ES256' | 'Ed25519'; publicJwk: JsonWebKey }[];
  state: {
    flows: Record<string, unknown>[];
    tokens: (Record<string, unknown> & { token: string; usedAt?: number; revokedAt?: number; attempts?: number })[];
  };
  cases: {
    name: string;
    method: 'POST' | 'GET';
    request: { token: string; proof: string };
    setup?: { flowState?: string };
    expect: { status: 'applied'; state: string } | { status: 'details' } | { error: string; httpStatus: number };
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../docs/protocol-vectors.json', import.meta.url), 'utf8'),
) as VectorsFile;

async function seeded(setup: { flowState?: string } = {}) {
  const store = createMemoryStore();
  for (const d of vectors.devices) {
    await store.devices.upsert({
      deviceId: d.deviceId,
      userId: d.userId,
      platform: 'fcm',
      token: `fcm-${d.deviceId}-token`,
      publicKey: createPublicKey({ key: d.publicJwk, format: 'jwk' })
        .export({ format: 'der', type: 'spki' })
        .toString('base64url'),
      keyAlgorithm: d.algorithm,
      createdAt: vectors.now - 60_000,
      updatedAt: vectors.now - 60_000,
    });
  }
  for (const flow of vectors.state.flows) {
    await store.flows.create({
      ...(flow as Parameters<typeof store.flows.create>[0]),
      ...(setup.flowState ? { state: setup.flowState } : {}),
    });
  }
  for (const { token: _raw, usedAt, revokedAt, attempts, ...record } of vectors.state.tokens) {
    await store.actionTokens.put(record as never);
    const hash = record.tokenHash as string;
    if (usedAt !== undefined) await store.actionTokens.consume(hash, usedAt);
    if (revokedAt !== undefined)
      await store.actionTokens.revokeByNotification(record.notificationId as string, revokedAt);
    for (let i = 0; i < (attempts ?? 0); i++) await store.actionTokens.recordFailure(hash, vectors.now);
  }
  const relay = createRelay(store, createMemoryDirectory({ users: [{ id: 'alice' }, { id: 'bob' }] }), vectors.now);
  return { store, relay };
}

describe('protocol vectors (docs/protocol-vectors.json)', () => {
  it('covers every rejection code of the protocol', () => {
    const codes = new Set(vectors.cases.flatMap((c) => ('error' in c.expect ? [c.expect.error] : [])));
    for (const code of [
      'ERR_ACTION_TOKEN_UNKNOWN',
      'ERR_ACTION_TOKEN_EXPIRED',
      'ERR_ACTION_TOKEN_USED',
      'ERR_ACTION_TOKEN_REVOKED',
      'ERR_ACTION_PROOF_INVALID',
      'ERR_ACTION_SIGNATURE_INVALID',
      'ERR_ACTION_SIGNER_MISMATCH',
      'ERR_ACTION_WRONG_DEVICE',
      'ERR_ACTION_WRONG_RECIPIENT',
      'ERR_ACTION_PROOF_STALE',
      'ERR_ACTION_DECISION_NOT_ALLOWED',
      'ERR_ACTION_CODE_MISMATCH',
      'ERR_ACTION_ATTEMPTS_EXCEEDED',
      'ERR_ACTION_ALREADY_DECIDED',
    ]) {
      expect(codes, code).toContain(code);
    }
  });

  for (const vector of vectors.cases) {
    it(`${vector.name}: ${'error' in vector.expect ? vector.expect.error : vector.expect.status}`, async () => {
      const { store, relay } = await seeded(vector.setup);
      try {
        const call = vector.method === 'GET' ? relay.details(vector.request) : relay.respond(vector.request);
        if ('error' in vector.expect) {
          const error = await errorOf(call);
          expect(error.code).toBe(vector.expect.error);
          // The web handler answers the published status for the same code, on a store seeded afresh.
          const fresh = await seeded(vector.setup);
          const response = await (vector.method === 'GET'
            ? fresh.relay.actionHandlers.details(
                new Request('http://localhost/idrelay/actions/details', {
                  headers: { 'idrelay-token': vector.request.token, 'idrelay-proof': vector.request.proof },
                }),
              )
            : fresh.relay.actionHandlers.respond(
                new Request('http://localhost/idrelay/actions/respond', {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(vector.request),
                }),
              ));
          expect(response.status).toBe(vector.expect.httpStatus);
          expect(((await response.json()) as { code: string }).code).toBe(vector.expect.error);
          await fresh.relay.close();
        } else if (vector.expect.status === 'applied') {
          expect(await call).toMatchObject({ status: 'applied', state: vector.expect.state });
        } else {
          expect(await call).toMatchObject({ notificationId: expect.any(String), numberMatching: true });
        }
      } finally {
        await relay.close();
        await store.close();
      }
    });
  }
});
