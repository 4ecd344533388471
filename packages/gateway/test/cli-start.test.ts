/**
 * `idrelay start` as an operator runs it: a separate process on an empty directory with a config file, answering
 * /readyz, serving a verification answered by a simulated device over real HTTP through the sandbox, and shutting
 * down on SIGTERM with exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { createStoreDirectory } from '@idrelay/engine';
import { createSqliteStore } from '@idrelay/store-sqlite';
import { freePort } from '@idrelay/testkit';
import { createSimulatedDevice, remotePushChannel } from '@idrelay/testkit/device';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { createWebhookReceiver } from '../src/outbound/webhook-receiver.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const API_KEY = `idr_${randomBytes(32).toString('base64url')}`;

let child: ChildProcess;
let cwd: string;
let base: string;
let stderr = '';
let stdout = '';
let exited: Promise<number | null>;

/** Resolves when `text` appears on the child's stderr; rejects if the child exits first or after `ms`. */
function stderrShows(text: string, ms = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms; stderr:\n${stderr}`)), ms);
    const check = () => {
      if (!stderr.includes(text)) return;
      clearTimeout(timer);
      child.stderr?.off('data', check);
      resolve();
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before "${text}"; stderr:\n${stderr}`));
    });
    check();
  });
}

async function cli(argv: string[]) {
  let out = '';
  let err = '';
  // Devices authenticate with their own key (and enrolment code), never an API key.
  const auth = argv[0] === 'device' ? [] : ['--api-key', API_KEY];
  const code = await runCli([...argv, '--url', base, ...auth], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd,
    stopSignal: new Promise(() => {}),
  });
  return { code, out, err };
}

const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

// The IAM system's webhook endpoint, subscribed in the configuration to approved sign-ins.
const HOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const receiver = createWebhookReceiver({ secret: HOOK_SECRET });
let hookServer: ServerType;
let hookUrl = '';

beforeAll(async () => {
  hookServer = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: receiver.handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  hookUrl = `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/hooks/idrelay`;
  cwd = await mkdtemp(join(tmpdir(), 'idrelay-start-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  await writeFile(
    join(cwd, 'idrelay.config.json'),
    JSON.stringify({
      port,
      logLevel: 'info',
      apiKeys: [
        {
          id: 'test',
          sha256: createHash('sha256').update(API_KEY).digest('hex'),
          scopes: ['ingest', 'admin', 'preview'],
        },
      ],
      webhooks: {
        subscriptions: [{ url: hookUrl, secret: HOOK_SECRET, types: ['idrelay.auth.verification.approved'] }],
      },
    }),
  );
  // The directory lives in the store (SCIM or a sync fills it); seed the one user before the gateway opens it.
  await mkdir(join(cwd, '.idrelay'));
  const store = await createSqliteStore({ path: join(cwd, '.idrelay', 'relay.db') });
  await createStoreDirectory(store).putUser({ id: 'alice' });
  await store.close();

  child = spawn(process.execPath, ['--conditions=@idrelay/source', '--import', TSX, CLI, 'start'], {
    cwd,
    env: { ...process.env, IDRELAY_API_KEYS: '', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await stderrShows('Listening on http');
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await new Promise<void>((resolve) => hookServer.close(() => resolve()));
});

describe('idrelay start', () => {
  it('answers /readyz with the store and the sandbox ready, on an empty directory', async () => {
    const response = await fetch(`${base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { store: 'ok', sandbox: 'ok' } });
    expect(stderr).toContain('Transports: apns sandbox, fcm sandbox, webpush sandbox');
  });

  it('serves a verification answered by a simulated device over HTTP (idrelay send, devices list)', async () => {
    const enrolment = await api('POST', '/v1/enrolment-codes', { userId: 'alice' });
    expect(enrolment.status).toBe(201);
    const device = await createSimulatedDevice({
      baseUrl: base,
      platform: 'webpush',
      algorithm: 'Ed25519',
      deviceId: 'alice-firefox',
      channel: remotePushChannel({ baseUrl: base }),
    });
    await device.enrol({ code: enrolment.body.code as string });

    const listed = await cli(['devices', 'list', '--user', 'alice']);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/alice-firefox\twebpush\tkey enrolled/);

    const sent = await cli(['send', '--user', 'alice', '--application', 'Payroll']);
    expect(sent.code).toBe(0);
    const { verificationId, code } = JSON.parse(sent.out) as { verificationId: string; code: string };

    const push = await device.waitForPush((p) => p.data.verificationId === verificationId, { timeoutMs: 10_000 });
    const details = await device.details(push);
    expect(details).toMatchObject({ numberMatching: true, details: { application: { name: 'Payroll' } } });
    await expect(device.approve(push, { code })).resolves.toMatchObject({ state: 'approved' });
    expect((await api('GET', `/v1/verifications/${verificationId}`)).body).toMatchObject({ status: 'approved' });
    // The configured subscription receives the decision, signed, from the durable outgoing log.
    const [hook] = await receiver.waitFor(1);
    expect(hook?.event).toMatchObject({ type: 'idrelay.auth.verification.approved', data: { verificationId } });
  });

  it('idrelay device enrol → listen → approve: a device kept on disk between commands', async () => {
    const { body } = await api('POST', '/v1/enrolment-codes', { userId: 'alice' });
    const enrol = await cli([
      'device',
      'enrol',
      '--id',
      'alice-iphone',
      '--platform',
      'apns',
      // `=`: a base64url code may start with '-', which parseArgs would read as an option.
      `--code=${String(body.code)}`,
    ]);
    expect(enrol).toMatchObject({ code: 0 });
    expect(JSON.parse(enrol.out)).toMatchObject({ device: { deviceId: 'alice-iphone' } });

    const sent = JSON.parse((await cli(['send', '--user', 'alice'])).out) as { verificationId: string; code: string };
    const listen = await cli(['device', 'listen', '--id', 'alice-iphone', '--timeout', '10000']);
    expect(listen.code).toBe(0);
    expect(listen.err).toContain('Enter the number shown on the sign-in screen');
    expect(JSON.parse(listen.out)).toMatchObject({
      push: { data: { verificationId: sent.verificationId } },
      details: { numberMatching: true },
    });

    const wrong = await cli([
      'device',
      'approve',
      '--id',
      'alice-iphone',
      '--code',
      sent.code === '111111' ? '222222' : '111111',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('ERR_ACTION_CODE_MISMATCH');
    const approved = await cli(['device', 'approve', '--id', 'alice-iphone', '--code', sent.code]);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.out)).toMatchObject({ decision: 'approve', state: 'approved' });
    const again = await cli(['device', 'approve', '--id', 'alice-iphone', '--code', sent.code]);
    expect(again.code).toBe(1);
    expect(again.err).toContain('no unanswered push');
  });

  it('idrelay preview explains an event without sending; deliveries tail follows one that was sent', async () => {
    const event = {
      specversion: '1.0',
      id: 'lock-1',
      source: 'https://iam.example.com',
      type: 'idrelay.account.locked',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { userId: 'alice', reason: 'failed-logins' },
    };
    await writeFile(join(cwd, 'event.json'), JSON.stringify(event));
    const preview = await cli(['preview', 'event.json']);
    expect(preview.code).toBe(0);
    expect(preview.out).toContain('alice-firefox');
    expect((await api('GET', '/v1/deliveries?event=https%3A%2F%2Fiam.example.com%23lock-1')).status).toBe(404);

    expect((await api('POST', '/v1/events', event)).status).toBe(202);
    const tail = await cli(['deliveries', 'tail', '--event', 'https://iam.example.com#lock-1', '--timeout', '10000']);
    expect(tail.code).toBe(0);
    expect(tail.out).toMatch(/alice\talice-firefox\twebpush\tdelivered/);
    expect(tail.out).toMatch(/alice\talice-iphone\tapns\tdelivered/);

    expect((await cli(['preview', 'missing.json'])).code).toBe(2);
  });

  it('serves Prometheus metrics and logs a JSON line per request and delivery, without secrets', async () => {
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^idrelay_\w+/m);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', route: '/readyz', status: 200 }));
    expect(lines.some((l) => l.transport !== undefined || /deliver/i.test(String(l.msg)))).toBe(true);
    expect(stdout).not.toContain(API_KEY);
    expect(stdout).not.toMatch(/idrelay-proof|"proof"/i);
  });

  it('stops on SIGTERM and exits 0', async () => {
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: stopping[\s\S]*Stopped cleanly/);
  }, 30_000);
});
