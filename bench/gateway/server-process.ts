/**
 * A server for `bench/gateway.ts`, in its own process so its CPU is not the load generator's: `ours` is what
 * `idrelay start` assembles (SQLite file under the data directory, default rules, APNs configured at the stand-in
 * the load generator runs, `BENCH_APNS`), `floor` a bare `@hono/node-server` handler that parses the same body and
 * does one insert (or one single-use UPDATE) on the same kind of SQLite database, sending the same APNs push through
 * the same transport to the same stand-in.
 *
 * argv: mode (`ours` | `floor`), data directory, port, users, responses. IPC in: `seed-responses` (the
 * count is argv's fifth), `stop`. IPC out: `ready` `{ url }`, `seed-responses` `{ bodies }`, `pushed` `{ userId, at }` when the APNs stand-in took a push.
 */
import { createHash, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { silentLogger } from '@idrelay/core';
import { tokenHash } from '@idrelay/engine';
import { createMemoryDirectory } from '@idrelay/testkit';
import { createApnsTransport } from '@idrelay/transport-apns';
import { assembleGateway } from '../../packages/gateway/src/cli/assemble.js';
import { hashApiKey } from '../../packages/gateway/src/http/api-keys.js';
import { resolveConfig } from '../../packages/gateway/src/index.js';
import { SANDBOX_APNS_TOPIC } from '../../packages/gateway/src/sandbox/sandbox-transports.js';
import { Hono, serve } from './hono.js';
import { apnsToken, devicePublicKey, floorSignature, seedDevices, seedResponses } from './seed.js';

const [mode, dir, portText, usersText, responsesText] = process.argv.slice(2) as string[] as [
  string,
  string,
  string,
  string,
  string,
];
const port = Number(portText);
const users = Number(usersText);
const responses = Number(responsesText ?? 0);
const key = process.env.BENCH_KEY as string;
const send = (message: Record<string, unknown>) => process.send?.(message);
const at = () => performance.timeOrigin + performance.now();
const quiet = { step() {}, done() {}, fail() {}, note() {} };
if (process.env.BENCH_APNS === undefined) throw new Error('BENCH_APNS: start this process from bench/gateway.ts');
/** The APNs stand-in the load generator runs (bench/gateway.ts), with the key and CA to reach it. */
const remoteApns = JSON.parse(process.env.BENCH_APNS) as {
  origin: string;
  caPath: string;
  keyPath: string;
  teamId: string;
  keyId: string;
};

async function ours() {
  const config = resolveConfig(
    {
      host: '127.0.0.1',
      port,
      dataDir: dir,
      logLevel: 'silent',
      apiKeys: [{ id: 'bench', sha256: hashApiKey(key), scopes: ['ingest', 'preview', 'admin'] }],
      limits: {
        ingest: { perSecond: 1_000_000, burst: 1_000_000 },
        verifications: { perMinute: 1_000_000, burst: 1_000_000 },
      },
      transports: {
        apns: {
          keyPath: remoteApns.keyPath,
          keyId: remoteApns.keyId,
          teamId: remoteApns.teamId,
          topic: SANDBOX_APNS_TOPIC,
          origin: remoteApns.origin,
          ca: remoteApns.caPath,
        },
      },
    },
    { cwd: dir, env: {} },
  );
  const assembled = await assembleGateway(config, {
    logger: silentLogger,
    progress: quiet,
    directory: () =>
      createMemoryDirectory({ users: Array.from({ length: users }, (_, i) => ({ id: `u-${i}`, attributes: {} })) }),
  });
  await seedDevices(assembled.store, users);
  assembled.relay.subscribe((event) => {
    if (event.type !== 'idrelay.notification.delivered') return;
    const data = event.data as { platform: string; userId: string };
    if (data.platform === 'apns') send({ type: 'pushed', userId: data.userId, at: at() });
  });
  const { url } = await assembled.gateway.listen();
  await assembled.relay.start();
  return {
    url,
    seedResponses: (count: number) => seedResponses(assembled.store, count, `${config.publicUrl}/v1/actions`),
    close: () => assembled.close(),
  };
}

async function floor() {
  const db = new DatabaseSync(join(dir, 'floor.db'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  db.exec(`CREATE TABLE events (source TEXT, id TEXT, type TEXT, body TEXT, received_at INTEGER, PRIMARY KEY (source, id));
    CREATE TABLE verifications (id TEXT PRIMARY KEY, user_id TEXT, body TEXT, created_at INTEGER);
    CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, used_at INTEGER);`);
  const insertEvent = db.prepare('INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?)');
  const insertVerification = db.prepare('INSERT INTO verifications VALUES (?, ?, ?, ?)');
  const useToken = db.prepare('UPDATE tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL');
  const apns = createApnsTransport({
    signingKey: readFileSync(remoteApns.keyPath, 'utf8'),
    teamId: remoteApns.teamId,
    keyId: remoteApns.keyId,
    defaultTopic: SANDBOX_APNS_TOPIC,
    origin: remoteApns.origin,
    ca: readFileSync(remoteApns.caPath, 'utf8'),
  });
  const { input, signature } = floorSignature();
  let verifications = 0;
  const app = new Hono();
  app.post('/v1/events', async (c) => {
    const text = await c.req.text();
    const event = JSON.parse(text) as { source: string; id: string; type: string };
    insertEvent.run(event.source, event.id, event.type, text, Date.now());
    return c.json({ results: [{ id: event.id, source: event.source, status: 'planned' }] }, 202);
  });
  app.post('/v1/verifications', async (c) => {
    const body = (await c.req.json()) as { userId: string };
    const id = `v-${++verifications}`;
    insertVerification.run(id, body.userId, JSON.stringify(body), Date.now());
    const index = Number(body.userId.slice(2));
    void apns
      .send({ id, title: 'Sign-in request', body: 'Is this you?', urgency: 'high' } as never, [
        { deviceId: `d-${index}`, platform: 'apns', token: apnsToken(index) } as never,
      ])
      .then(() => send({ type: 'pushed', userId: body.userId, at: at() }));
    return c.json({ verificationId: id, code: '42' }, 201);
  });
  app.post('/v1/actions', async (c) => {
    const body = (await c.req.json()) as { token: string; proof: string };
    if (!verify('sha256', input, { key: devicePublicKey, dsaEncoding: 'ieee-p1363' }, signature)) {
      return c.json({ code: 'ERR_ACTION_PROOF_INVALID' }, 401);
    }
    if (useToken.run(Date.now(), tokenHash(body.token)).changes !== 1) return c.json({ code: 'used' }, 409);
    return c.json({ state: 'approved' });
  });
  app.get('/readyz', (c) => c.json({ status: 'ready' }));
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async seedResponses(count: number) {
      const bodies: string[] = [];
      const insert = db.prepare('INSERT INTO tokens (token_hash) VALUES (?)');
      db.exec('BEGIN');
      for (let i = 0; i < count; i++) {
        const token = createHash('sha256').update(`floor-${i}`).digest('base64url');
        insert.run(tokenHash(token));
        bodies.push(JSON.stringify({ token, proof: 'x'.repeat(400) }));
      }
      db.exec('COMMIT');
      return bodies;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apns.close();
      db.close();
    },
  };
}

const server = mode === 'ours' ? await ours() : await floor();
process.on('message', async (message: { type: string }) => {
  if (message.type === 'seed-responses') {
    send({ type: 'seed-responses', bodies: await server.seedResponses(responses) });
  } else if (message.type === 'stop') {
    await server.close();
    process.exit(0);
  }
});
send({ type: 'ready', url: server.url });
