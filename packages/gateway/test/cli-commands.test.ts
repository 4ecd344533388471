/**
 * `idrelay` run in-process through runCli with captured output: help, usage errors and exit codes, and keys whose
 * output works where it is meant to go.
 */
import { createHash, type JsonWebKey } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebPushService } from '@idrelay/testkit';
import { createDeviceKey } from '@idrelay/testkit/device';
import { createWebPushTransport } from '@idrelay/transport-webpush';
import { describe, expect, it, vi } from 'vitest';
import { createProgress } from '../src/cli/io.js';
import { COMMANDS, runCli } from '../src/cli/run.js';
import { EXIT_CODES } from '../src/cli.js';
import { resolveConfig } from '../src/config/load-config.js';

async function run(argv: string[], env: Record<string, string> = {}, cwd?: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env,
    cwd: cwd ?? (await mkdtemp(join(tmpdir(), 'idrelay-cli-'))),
    stopSignal: new Promise(() => {}),
  });
  return { code, stdout, stderr };
}

describe('idrelay: help and exit codes', () => {
  it('lists every command in --help and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(EXIT_CODES.ok);
    for (const command of COMMANDS) expect(stdout).toContain(command.name);
    expect(stdout).toMatch(/Exit codes: 0 success, 1 failure/);
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage and exits 0', async (name) => {
    const { code, stdout } = await run([name, '--help']);
    expect(code).toBe(EXIT_CODES.ok);
    expect(stdout).toContain(`Usage: idrelay ${name}`);
    expect(stdout).toContain('Exit codes');
  });

  it('exits 2 without a command, for an unknown command, an unknown option or a missing argument', async () => {
    expect((await run([])).code).toBe(EXIT_CODES.usage);
    const unknown = await run(['launch']);
    expect(unknown.code).toBe(EXIT_CODES.usage);
    expect(unknown.stderr).toContain('unknown command launch');
    const option = await run(['keys', 'vapid', '--colour']);
    expect(option.code).toBe(EXIT_CODES.usage);
    expect(option.stderr).toMatch(/--colour[\s\S]*idrelay keys --help/);
    const missing = await run(['send']);
    expect(missing).toMatchObject({ code: EXIT_CODES.usage });
    expect(missing.stderr).toContain('send needs --user');
    expect((await run(['keys', 'rsa'])).code).toBe(EXIT_CODES.usage);
    expect((await run(['device', 'approve'])).stderr).toContain('device needs --id');
    expect((await run(['deliveries', 'follow', '--event', 'x'])).code).toBe(EXIT_CODES.usage);
  });

  it('exits 1 naming the bad key when the configuration is invalid, before opening anything', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'idrelay-cli-'));
    await writeFile(join(cwd, 'idrelay.config.json'), JSON.stringify({ port: 'eighty' }));
    const { code, stderr } = await run(['start'], {}, cwd);
    expect(code).toBe(EXIT_CODES.failure);
    expect(stderr).toMatch(/ERR_CONFIG_INVALID: port: expected a number between 1 and 65535/);
  });

  it('start exits 1 naming EADDRINUSE when the port is taken, having closed what it opened', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as { port: number };
    const cwd = await mkdtemp(join(tmpdir(), 'idrelay-cli-'));
    await writeFile(join(cwd, 'idrelay.config.json'), JSON.stringify({ store: { kind: 'memory' } }));
    try {
      const { code, stderr } = await run(['start', '--port', String(port)], {}, cwd);
      expect(code).toBe(EXIT_CODES.failure);
      expect(stderr).toMatch(/idrelay: EADDRINUSE: .*127\.0\.0\.1/);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
  });

  it('exits 1 with ERR_GATEWAY_UNREACHABLE when no gateway answers', async () => {
    const { code, stderr } = await run(['devices', 'list', '--user', 'u', '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(EXIT_CODES.failure);
    expect(stderr).toContain('ERR_GATEWAY_UNREACHABLE');
  });
});

describe('progress output', () => {
  it('is plain lines without a TTY', () => {
    let out = '';
    const progress = createProgress({ write: (s: string) => (out += s) });
    progress.step('Opening the store');
    progress.step('Starting transports');
    progress.fail('Starting transports: refused');
    expect(out).toBe(
      '… Opening the store\n✓ Opening the store\n… Starting transports\n✗ Starting transports: refused\n',
    );
  });

  it('is a spinner redrawn in place on a TTY', () => {
    vi.useFakeTimers();
    try {
      let out = '';
      const progress = createProgress({ write: (s: string) => (out += s), isTTY: true });
      progress.step('Listening');
      vi.advanceTimersByTime(160);
      progress.done('Listening on http://127.0.0.1:8787');
      expect(out).toBe(
        '⠋ Listening\r\x1b[2K⠙ Listening\r\x1b[2K⠹ Listening\r\x1b[2K✓ Listening on http://127.0.0.1:8787\n',
      );
      vi.advanceTimersByTime(1000);
      expect(out.endsWith('8787\n')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('idrelay keys', () => {
  it('vapid: keys the Web Push transport signs with, accepted by a push service', async () => {
    const { code, stdout } = await run(['keys', 'vapid', '--subject', 'mailto:ops@example.org']);
    expect(code).toBe(EXIT_CODES.ok);
    const vapid = JSON.parse(stdout) as { publicKey: string; privateKey: string; subject: string };
    expect(vapid.subject).toBe('mailto:ops@example.org');
    const service = await startWebPushService();
    const transport = createWebPushTransport({ vapid, ca: service.ca });
    try {
      const subscription = service.subscribe({ applicationServerKey: vapid.publicKey });
      const [result] = await transport.send({ id: 'n-1', urgency: 'normal', title: 'Hello' }, [
        { deviceId: 'browser', platform: 'webpush', subscription },
      ]);
      expect(result?.status).toBe('delivered');
      expect(service.received(subscription)[0]?.vapid.publicKey).toBe(vapid.publicKey);
    } finally {
      await transport.close();
      await service.close();
    }
  });

  it('--env prints lines the configuration loader accepts', async () => {
    const env = (text: string) =>
      Object.fromEntries(
        text
          .trim()
          .split('\n')
          .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]),
      );
    const vapid = env((await run(['keys', 'vapid', '--env'])).stdout);
    const api = env((await run(['keys', 'api', '--id', 'iam', '--scopes', 'ingest,admin', '--env'])).stdout);
    const config = resolveConfig({}, { cwd: tmpdir(), env: { ...vapid, ...api } });
    expect(config.transports.webpush?.publicKey).toBe(vapid.IDRELAY_VAPID_PUBLIC_KEY);
    expect(config.apiKeys[0]?.scopes).toEqual(['ingest', 'admin']);
  });

  it('vapid: refuses a subject that is not mailto: or https:', async () => {
    expect((await run(['keys', 'vapid', '--subject', 'ops@example.org'])).code).toBe(EXIT_CODES.usage);
  });

  it.each(['ES256', 'Ed25519'] as const)(
    'device: a %s private JWK that signs and a matching public JWK',
    async (alg) => {
      const { stdout } = await run(['keys', 'device', '--algorithm', alg]);
      const out = JSON.parse(stdout) as { privateJwk: JsonWebKey; publicJwk: { x: string } };
      const key = createDeviceKey(alg, out.privateJwk);
      expect(key.publicJwk.x).toBe(out.publicJwk.x);
      expect(key.sign(Buffer.from('x')).length).toBe(64);
    },
  );

  it('api: a key and the sha256 entry for the configuration', async () => {
    const { stdout } = await run(['keys', 'api', '--id', 'iam', '--scopes', 'ingest,preview']);
    const out = JSON.parse(stdout) as { key: string; entry: { id: string; sha256: string; scopes: string[] } };
    expect(out.key).toMatch(/^idr_[A-Za-z0-9_-]{43}$/);
    expect(out.entry).toEqual({
      id: 'iam',
      sha256: createHash('sha256').update(out.key).digest('hex'),
      scopes: ['ingest', 'preview'],
    });
    expect((await run(['keys', 'api', '--id', 'iam', '--scopes', 'root'])).code).toBe(EXIT_CODES.usage);
  });

  it('audit: an Ed25519 key pair in PEM', async () => {
    const out = JSON.parse((await run(['keys', 'audit'])).stdout) as { privateKey: string; publicKey: string };
    expect(out.privateKey).toContain('BEGIN PRIVATE KEY');
    expect(out.publicKey).toContain('BEGIN PUBLIC KEY');
  });
});
