import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { silentLogger, type WriteBack } from '@idrelay/core';
import { createStoreDirectory } from '@idrelay/engine';
import { seedStoreDirectory } from '@idrelay/testkit';
import { createSimulatedDevice, type PushChannel, type SimulatedDevice } from '@idrelay/testkit/device';
import { resolveConfig } from '../../config/load-config.js';
import { createWebhookReceiver, type ReceivedWebhook } from '../../outbound/webhook-receiver.js';
import { createWebhookWriteBack } from '../../outbound/webhook-write-back.js';
import { parse } from '../args.js';
import { assembleGateway, DEFAULT_GROUPS } from '../assemble.js';
import { connect, type GatewayClient } from '../client.js';
import type { Command } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';
import { createProgress, type Progress } from '../io.js';

const HELP = `Usage: idrelay demo [options]

Starts a gateway on embedded defaults (in-memory store, sandbox stand-ins for APNs, FCM and Web Push) with a seeded
directory and simulated devices, and plays scenarios over HTTP, printing who got what and what they answered:

  1. login verification: alice's iPhone gets the push, reads the context, types the number, approves
  2. risky login: bob's Pixel denies and reports; the security team's browser gets the alert
  3. account locked: alice's iPhone is told
  4. required action: carol's browser acknowledges a policy
  5. access request: alice and carol are asked; alice approves, carol's push is withdrawn and its token is dead
  6. privileged role assigned: the security team is alerted (time-sensitive on dave's iPhone)

Decisions and acknowledgements are written back, signed with Standard Webhooks, to a local webhook receiver.

Options:
  --port <port>   listen on this port (default: a free one)
  --keep          keep the gateway serving after the scenarios, until SIGINT/SIGTERM

Exit codes: 0 every scenario's outcome was observed, 1 one was not (it is named), 2 usage error.`;

const PEOPLE = [
  { id: 'alice', displayName: 'Alice Arnold', attributes: { department: 'finance' } },
  { id: 'bob', displayName: 'Bob Brown', attributes: { department: 'sales' } },
  { id: 'carol', displayName: 'Carol Chen', attributes: { department: 'it' } },
  { id: 'sam', displayName: 'Sam Security', attributes: { department: 'security' } },
  { id: 'dave', displayName: 'Dave Duty', attributes: { department: 'security' } },
];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `idrelay demo`. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'play the scenarios on a sandbox gateway with simulated devices',
  help: HELP,
  async run(args, io) {
    const { values } = parse('demo', args, { port: { type: 'string' }, keep: { type: 'boolean' } });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    if (values.port !== undefined && !/^\d{1,5}$/.test(values.port)) {
      throw new UsageError('--port must be a number between 1 and 65535', 'demo');
    }
    const port = values.port === undefined ? await freePort() : Number(values.port);
    const apiKey = `idr_${randomBytes(32).toString('base64url')}`;
    const config = resolveConfig(
      {
        port,
        store: { kind: 'memory' },
        logLevel: 'silent',
        apiKeys: [{ id: 'demo', key: apiKey, scopes: ['ingest', 'preview', 'admin'] }],
        transports: { sandbox: true },
      },
      { cwd: io.cwd, env: {} },
    );
    const progress = createProgress(io.stderr);
    const hooks = await startReceiver();
    const assembled = await assembleGateway(config, {
      logger: silentLogger,
      progress,
      writeBacks: [hooks.writeBack],
    }).catch(async (error: unknown) => {
      await hooks.close();
      throw error;
    });
    const channel = assembled.transports.sandbox?.channel as PushChannel;
    let failed: string | undefined;
    try {
      progress.step('Seeding the directory');
      await seedStoreDirectory(createStoreDirectory(assembled.store), {
        users: PEOPLE,
        groups: [
          { id: DEFAULT_GROUPS.securityGroup, members: ['sam', 'dave'] },
          { id: DEFAULT_GROUPS.adminGroup, members: ['carol'] },
        ],
      });
      progress.step('Listening');
      const { url } = await assembled.gateway.listen();
      await assembled.relay.start();
      progress.done(`Gateway on ${url} (API reference ${url}/docs)`);
      const client = await connect({ url, 'api-key': apiKey }, io);
      const say = (line: string) => io.stdout.write(`${line}\n`);
      const devices = await enrolAll(client, channel, url, progress, say);
      for (const [name, play] of SCENARIOS) {
        progress.step(name);
        try {
          await play({ client, devices, say, hooks });
          progress.done(name);
        } catch (error) {
          progress.fail(`${name}: ${(error as Error).message}`);
          failed ??= name;
        }
      }
      if (failed === undefined) say('\nEvery scenario played as expected.');
      if (values.keep) {
        progress.note(`Serving on ${url} until SIGINT/SIGTERM (API key for this run: ${apiKey})`);
        await io.stopSignal;
      }
    } finally {
      progress.step('Stopping');
      await assembled.close();
      await hooks.close();
      progress.done('Stopped');
    }
    if (failed !== undefined) {
      io.stderr.write(`idrelay: scenario not observed: ${failed}\n`);
      return EXIT_CODES.failure;
    }
    return EXIT_CODES.ok;
  },
};

type Devices = Record<'alice' | 'bob' | 'carol' | 'sam' | 'dave', SimulatedDevice>;
type Scenario = (context: {
  client: GatewayClient;
  devices: Devices;
  say: (line: string) => void;
  hooks: Hooks;
}) => Promise<void>;

/** The IAM system's side: a local webhook receiver and the write-back that signs and sends to it. */
interface Hooks {
  writeBack: WriteBack;
  /** Resolves with the first written-back event of `type` (within 10 s). */
  arrived(type: string): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

const WRITTEN_BACK = [
  'idrelay.access.approved',
  'idrelay.access.denied',
  'idrelay.notification.acknowledged',
  'idrelay.auth.verification.approved',
  'idrelay.auth.verification.denied',
  'idrelay.auth.risk.detected',
] as const;

async function startReceiver(): Promise<Hooks> {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const receiver = createWebhookReceiver({ secret });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: receiver.handler, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const writeBack = createWebhookWriteBack({
    name: 'demo-iam',
    url: `http://127.0.0.1:${port}/hooks/idrelay`,
    secret,
    types: WRITTEN_BACK,
    timeoutMs: 5_000,
  });
  return {
    writeBack,
    async arrived(type) {
      const deadline = Date.now() + 10_000;
      for (let count = 1; ; count++) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${type} written back within 10 s`)), deadline - Date.now());
        });
        const events = await Promise.race([receiver.waitFor(count), late]).finally(() => clearTimeout(timer));
        const hit = events.find((e) => e.event.type === type);
        if (hit !== undefined) return hit;
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function enrolAll(
  client: GatewayClient,
  channel: PushChannel,
  url: string,
  progress: Progress,
  say: (line: string) => void,
): Promise<Devices> {
  const plan = [
    ['alice', 'alice-iphone', 'apns', 'ES256'],
    ['bob', 'bob-pixel', 'fcm', 'Ed25519'],
    ['carol', 'carol-firefox', 'webpush', 'ES256'],
    ['sam', 'sam-chrome', 'webpush', 'Ed25519'],
    ['dave', 'dave-iphone', 'apns', 'Ed25519'],
  ] as const;
  const devices = {} as Devices;
  for (const [userId, deviceId, platform, algorithm] of plan) {
    progress.step(`Enrolling ${deviceId}`);
    const { code } = (await client.call('POST', '/v1/enrolment-codes', { userId })) as { code: string };
    const device = await createSimulatedDevice({ baseUrl: url, platform, algorithm, deviceId, channel });
    await device.enrol({ code });
    devices[userId] = device;
    progress.done();
    say(`${userId} enrolled ${deviceId} (${platform}, ${algorithm} key made on the device)`);
  }
  return devices;
}

async function writtenBack(hooks: Hooks, type: string, say: (line: string) => void): Promise<void> {
  const received = await hooks.arrived(type);
  say(`  written back: ${type} (${received.webhookId}, signature verified by the receiver)`);
}

function expect(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`expected ${what}`);
}

const cloudEvent = (type: string, data: Record<string, unknown>) => ({
  specversion: '1.0',
  id: `demo-${randomBytes(6).toString('hex')}`,
  source: 'https://iam.example.com/demo',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  data,
});

const SCENARIOS: readonly [string, Scenario][] = [
  [
    '1. Login verification approved with number matching',
    async ({ client, devices, say, hooks }) => {
      const started = (await client.call('POST', '/v1/verifications', {
        userId: 'alice',
        application: { id: 'payroll', name: 'Payroll' },
        ip: '203.0.113.7',
        location: { city: 'Zurich', country: 'CH' },
      })) as { verificationId: string; code: string };
      say(`  sign-in screen shows ${started.code}`);
      const push = await devices.alice.waitForPush((p) => p.data.verificationId === started.verificationId);
      const details = await devices.alice.details(push);
      say(`  alice-iphone: push ${push.notificationId}; details: ${JSON.stringify(details.details)}`);
      expect(details.numberMatching, 'the device to be asked for the number');
      const answer = await devices.alice.approve(push, { code: started.code });
      say(`  alice-iphone approves with ${started.code}: ${answer.state}`);
      const state = (await client.call('GET', `/v1/verifications/${started.verificationId}`)) as { status: string };
      expect(state.status === 'approved', `the verification approved, got ${state.status}`);
      await writtenBack(hooks, 'idrelay.auth.verification.approved', say);
    },
  ],
  [
    '2. Risky login denied and reported; the security team is alerted',
    async ({ client, devices, say, hooks }) => {
      const started = (await client.call('POST', '/v1/verifications', {
        userId: 'bob',
        application: { id: 'crm', name: 'CRM' },
        ip: '198.51.100.66',
        location: { city: 'Unknown', country: 'XX' },
      })) as { verificationId: string };
      const push = await devices.bob.waitForPush((p) => p.data.verificationId === started.verificationId);
      await devices.bob.report(push, { comment: 'not me' });
      say('  bob-pixel: "this wasn’t me" (deny and report)');
      const state = (await client.call('GET', `/v1/verifications/${started.verificationId}`)) as {
        status: string;
        reported?: boolean;
      };
      expect(state.status === 'denied' && state.reported === true, 'the verification denied and reported');
      const alert = await devices.sam.waitForPush(() => true, { timeoutMs: 10_000 });
      say(`  sam-chrome (security team): ${alert.title ?? alert.data.type ?? 'alert'}`);
      await writtenBack(hooks, 'idrelay.auth.verification.denied', say);
    },
  ],
  [
    '3. Account locked: the user is told',
    async ({ client, devices, say }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.account.locked', { userId: 'alice', reason: 'failed-logins', failedAttempts: 5 }),
      );
      // Alice's verification push was taken in scenario 1; the next one is the lock notice.
      const push = await devices.alice.waitForPush(() => true, { timeoutMs: 10_000 });
      expect(push.token === undefined, 'an informational push (nothing to answer)');
      say(`  alice-iphone: ${push.title ?? ''} ${push.body ?? ''}`.trimEnd());
    },
  ],
  [
    '4. Required action acknowledged on the device',
    async ({ client, devices, say, hooks }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.policy.action-required', {
          actionId: 'aup-2027',
          userId: 'carol',
          kind: 'policy-acceptance',
          policy: { id: 'aup', name: 'Acceptable use policy', version: '2027' },
        }),
      );
      const push = await devices.carol.waitForPush((p) => p.token !== undefined, { timeoutMs: 10_000 });
      const answer = await devices.carol.acknowledge(push);
      say(`  carol-firefox acknowledges: ${answer.status}${answer.state ? ` (${answer.state})` : ''}`);
      expect(answer.status === 'applied', 'the acknowledgement applied');
      await writtenBack(hooks, 'idrelay.notification.acknowledged', say);
    },
  ],
  [
    '5. Access request: one approver decides, the other approver’s push is withdrawn',
    async ({ client, devices, say, hooks }) => {
      const requestId = `req-${randomBytes(4).toString('hex')}`;
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.access.requested', {
          requestId,
          requester: { id: 'bob' },
          resource: { id: 'erp-admin', name: 'ERP administration' },
          approvers: ['alice', 'carol'],
          justification: 'quarter close',
        }),
      );
      const forRequest = (p: { data: Readonly<Record<string, string>>; token: string | undefined }) =>
        p.data.requestId === requestId && p.token !== undefined;
      const alicePush = await devices.alice.waitForPush(forRequest, { timeoutMs: 10_000 });
      const carolPush = await devices.carol.waitForPush(forRequest, { timeoutMs: 10_000 });
      say(`  alice-iphone and carol-firefox asked to approve ${requestId} (bob → ERP administration)`);
      const approved = await devices.alice.approve(alicePush);
      say(`  alice-iphone approves: ${approved.state}`);
      expect(approved.state === 'approved', `the request approved, got ${approved.state}`);
      const late: string | undefined = await devices.carol.approve(carolPush).then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
      const withdrawal = await devices.carol.waitForPush((p) => p.token === undefined, { timeoutMs: 10_000 });
      say(`  carol-firefox: ${withdrawal.title ?? ''} ${withdrawal.body ?? ''}`.trimEnd());
      say(`  carol-firefox answers anyway: ${late}`);
      expect(late === 'ERR_ACTION_TOKEN_REVOKED', `carol's token revoked, got ${late}`);
      await writtenBack(hooks, 'idrelay.access.approved', say);
    },
  ],
  [
    '6. Privileged role assigned: the security team is alerted',
    async ({ client, devices, say }) => {
      await client.call(
        'POST',
        '/v1/events',
        cloudEvent('idrelay.privilege.assigned', {
          userId: 'bob',
          privilege: { id: 'erp-admin', name: 'ERP administrator', kind: 'role' },
          assignedBy: { id: 'carol' },
        }),
      );
      const alert = await devices.dave.waitForPush((p) => p.data.type === 'idrelay.privilege.assigned', {
        timeoutMs: 10_000,
      });
      const level = (alert.raw as { aps?: { 'interruption-level'?: string } }).aps?.['interruption-level'];
      say(`  dave-iphone (security team, ${level ?? 'no interruption level'}): ${alert.title ?? ''}`.trimEnd());
      expect(level === 'time-sensitive' || level === 'critical', `a time-sensitive APNs alert, got ${level}`);
      const also = await devices.sam.waitForPush((p) => p.data.type === 'idrelay.privilege.assigned', {
        timeoutMs: 10_000,
      });
      say(`  sam-chrome (security team): ${also.title ?? ''}`.trimEnd());
    },
  ],
];
