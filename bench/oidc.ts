/**
 * `pnpm bench oidc`: the OIDC and Shared Signals connector's two hot paths, each beside a floor measured in the
 * same run (`peer` = floor, `ratio` = ours ÷ floor).
 *
 * - `verify-bearer`: JWT access tokens (RFC 9068, RS256, issued by a loopback `oidc-provider` for a resource
 *   indicator) verified per second by `verifyBearer(request)` — bearer header parsed, keys from the issuer's JWKS
 *   (fetched once, then cached by jose), issuer, audience, expiry, `typ`, algorithm allow-list, scopes. Floor: a bare
 *   `jose.jwtVerify` of the same token with the same imported key. Target ≥ 0.8×.
 * - `ssf-push-ingest`: SETs (RISC `account-disabled`, RS256) pushed through the RFC 8935 receiver — authorization,
 *   body read, verified, `jti` claimed, mapped — and ingested by a relay on the embedded SQLite store (validated,
 *   deduplicated, stored, audited, planned with no rules), 16 in flight. Floor: bare `jwtVerify` plus one INSERT on
 *   a node:sqlite file with the store's pragmas. Target ≥ 0.5×.
 *
 * `BENCH_OIDC_N` scales both (default 20,000 tokens and 5,000 SETs; a smoke run uses e.g. 2000). The load average
 * is recorded in each row's note: on a shared machine the figures move with it, the ratios much less.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createRelay } from '@idrelay/engine';
import { createBearerVerifier, createSsfPushReceiver, SSF_EVENT_TYPES } from '@idrelay/identity-oidc';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { createMemoryDirectory } from '@idrelay/testkit';
import { startOidcProvider } from '@idrelay/testkit/oidc';
import { measure, measureConcurrent } from './lib/measure.js';
import { createReport, round } from './lib/report.js';
import { jose } from './oidc/jose.js';

const { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } = jose;

const N = Number(process.env.BENCH_OIDC_N ?? 20_000);
const SETS = Math.max(500, Math.floor(N / 4));
const report = createReport('oidc');
const load = () => loadavg()[0]!.toFixed(1);

async function verifyBearerCase() {
  const RELAY = 'https://relay.example/v1';
  const op = await startOidcProvider({
    clients: [{ client_id: 'bench', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
    resourceServers: { [RELAY]: { scope: 'relay.read', accessTokenTtlSeconds: 3600 } },
  });
  try {
    const [c] = op.clients;
    // RFC 6749 §4.4 with an RFC 8707 resource: the OP answers with a JWT access token for RELAY.
    const granted = await fetch(`${op.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${c!.clientId}:${c!.clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'relay.read', resource: RELAY }),
    });
    const token = ((await granted.json()) as { access_token: string }).access_token;
    const verifyBearer = createBearerVerifier({
      issuer: op.issuer,
      audience: RELAY,
      requiredScopes: ['relay.read'],
      allowInsecureRequests: true,
    });
    const request = new Request(RELAY, { headers: { authorization: `Bearer ${token}` } });
    await verifyBearer(request); // discovery and the one JWKS fetch happen here, outside the timing
    const key = await importJWK(op.keys.jwks.keys[0] as never, 'RS256');
    const checks = { issuer: op.issuer, audience: RELAY, algorithms: ['RS256'] };

    // Three alternating rounds, the best of each side kept: on a shared machine a neighbour's burst lands on one
    // round, not on one side.
    const iterations = Math.ceil(N / 3);
    const warmup = Math.min(2_000, Math.ceil(N / 10));
    let ours = await measure(() => verifyBearer(request), { iterations, warmup });
    let floor = await measure(() => jwtVerify(token, key, checks), { iterations, warmup });
    for (let round = 1; round < 3; round++) {
      const o = await measure(() => verifyBearer(request), { iterations, warmup });
      const f = await measure(() => jwtVerify(token, key, checks), { iterations, warmup });
      if (o.opsPerSec > ours.opsPerSec) ours = o;
      if (f.opsPerSec > floor.opsPerSec) floor = f;
    }
    const peer = floor.opsPerSec;
    report.compare(
      {
        case: 'verify-bearer',
        metric: 'throughput',
        value: round(ours.opsPerSec, 0),
        unit: 'tokens/s',
        peer: 'jose.jwtVerify, same token and imported key (raw floor)',
        peer_value: round(peer, 0),
        note: `RS256 at+jwt from oidc-provider; 3 alternating rounds of ${iterations} sequential verifications, best of each side; CPU/op ours ${round(ours.cpuUs, 1)} µs, floor ${round(floor.cpuUs, 1)} µs; load ${load()}`,
      },
      false,
    );
  } finally {
    await op.close();
  }
}

async function ssfPushIngestCase() {
  const ISSUER = 'https://tx.example';
  const AUDIENCE = 'https://relay.example/ssf';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'tx-1', alg: 'RS256' }] };
  const now = Date.now();
  const sign = (i: number) =>
    new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      jti: randomUUID(),
      iat: Math.floor(now / 1000),
      sub_id: { format: 'email', email: `user-${i}@example.com` },
      events: { [SSF_EVENT_TYPES.riscAccountDisabled]: { reason: 'hijacking' } },
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'tx-1', typ: 'secevent+jwt' })
      .sign(privateKey);
  const sets = await Promise.all(Array.from({ length: SETS }, (_, i) => sign(i)));
  const dir = mkdtempSync(join(tmpdir(), 'idrelay-bench-oidc-'));
  try {
    const store = await createSqliteStore({ path: join(dir, 'ours.db') });
    const relay = createRelay({
      store,
      directory: createMemoryDirectory({ users: [] }),
      transports: [],
      rules: [],
      scheduler: { setTimeout: () => undefined, clearTimeout: () => {} },
      retention: false,
    });
    const headers = { 'content-type': 'application/secevent+jwt', authorization: 'Bearer push-secret' };
    // The receiver alone (onSignal does nothing), on its own copy of the SETs: where the time goes.
    const receiveOnly = createSsfPushReceiver({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwks,
      authorization: 'Bearer push-secret',
      onSignal: () => undefined,
    });
    const spare = await Promise.all(Array.from({ length: SETS }, (_, i) => sign(i)));
    const received = await measureConcurrent(
      (i) => receiveOnly(new Request(AUDIENCE, { method: 'POST', headers, body: spare[i]! })),
      { total: SETS, concurrency: 16 },
    );
    let ingested = 0;
    const receive = createSsfPushReceiver({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: jwks,
      authorization: 'Bearer push-secret',
      onSignal: async (signal) => {
        if (signal.event) {
          await relay.ingest(signal.event);
          ingested++;
        }
      },
    });
    let accepted = 0;
    const ours = await measureConcurrent(
      async (i) => {
        const response = await receive(new Request(AUDIENCE, { method: 'POST', headers, body: sets[i]! }));
        if (response.status === 202) accepted++;
      },
      { total: SETS, concurrency: 16 },
    );
    await relay.close();
    await store.close();
    if (accepted !== SETS || ingested !== SETS)
      throw new Error(`accepted ${accepted}, ingested ${ingested} of ${SETS}`);

    // Floor: the same pragmas a store file gets (WAL, synchronous NORMAL), one connection, one row per SET.
    const db = new DatabaseSync(join(dir, 'floor.db'));
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE events (source TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (source, id));`);
    const insert = db.prepare('INSERT INTO events (source, id, body) VALUES (?, ?, ?)');
    const key = await importJWK(jwks.keys[0] as never, 'RS256');
    const floor = await measureConcurrent(
      async (i) => {
        const { payload } = await jwtVerify(sets[i]!, key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['RS256'],
          typ: 'secevent+jwt',
        });
        insert.run(ISSUER, payload.jti as string, JSON.stringify(payload));
      },
      { total: SETS, concurrency: 16 },
    );
    db.close();
    const verifyOnly = await measureConcurrent(
      (i) =>
        jwtVerify(spare[i]!, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], typ: 'secevent+jwt' }),
      { total: SETS, concurrency: 16 },
    );
    report.compare(
      {
        case: 'ssf-push-receive',
        metric: 'throughput',
        value: round(received.opsPerSec, 0),
        unit: 'SETs/s',
        peer: 'jose.jwtVerify (raw floor)',
        peer_value: round(verifyOnly.opsPerSec, 0),
        note: `the push handler alone, onSignal a no-op (authorization, body, verify, SSF profile, jti, mapping to a validated event): what ssf-push-ingest costs before relay.ingest; CPU/op ${round(received.cpuUs, 0)} µs vs ${round(verifyOnly.cpuUs, 0)} µs; load ${load()}`,
      },
      false,
    );
    report.compare(
      {
        case: 'ssf-push-ingest',
        metric: 'throughput',
        value: round(ours.opsPerSec, 0),
        unit: 'SETs/s',
        peer: 'jose.jwtVerify + one node:sqlite INSERT (raw floor)',
        peer_value: round(floor.opsPerSec, 0),
        note: `${SETS} RS256 SETs, 16 in flight, every one 202 and ingested (stored, audited, planned with no rules); CPU/op ours ${round(ours.cpuUs, 0)} µs, floor ${round(floor.cpuUs, 0)} µs; load ${load()}`,
      },
      false,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await verifyBearerCase();
await ssfPushIngestCase();
report.write();
