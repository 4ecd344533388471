import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  createSimulatedDevice,
  type ReceivedPush,
  remotePushChannel,
  type SimulatedDevice,
  type SimulatedDeviceState,
} from '@idrelay/testkit/device';
import { milliseconds, oneOf, parse, required } from '../args.js';
import { SANDBOX_PREFIX } from '../assemble.js';
import { CLIENT_OPTIONS, connect } from '../client.js';
import { type Command, printJson } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';
import type { CliIo } from '../io.js';

const HELP = `Usage: idrelay device <action> --id <deviceId> [options]

A simulated phone or browser (@idrelay/testkit/device) talking to a running \`idrelay start\` whose transports are
in the sandbox: it makes its own key, enrols, reads its pushes from the sandbox stand-ins (decrypting Web Push),
fetches details and answers with signed decisions, exactly as docs/protocol.md describes. Its keys are kept in
<state-dir>/<deviceId>.json (test keys only).

Actions:
  enrol        make a key and push address, enrol with --code=<one-time code> or --bearer=<token>
               (write the = : a code may start with '-')
                 --platform apns|fcm|webpush (required)   --algorithm ES256|Ed25519 (default ES256)
  listen       wait for the next push, print it and its details (the number-matching prompt)
                 --timeout <ms> (default 60000)
  approve      answer the newest unanswered push (or --notification <id>); --code <number> when asked
  deny | report | acknowledge   the same, with that decision; --comment <text> for deny and report

Options:
  --id <deviceId>      the device (required)
  --state-dir <dir>    where devices are kept (default .idrelay/devices)
  --url <url>          the gateway (default IDRELAY_URL, else the configuration's publicUrl)
  --config <file>      configuration file to read publicUrl from

Exit codes: 0 done, 1 refused by the gateway (the problem code is printed), no push in time, or unknown device,
2 usage error.`;

const ACTIONS = ['enrol', 'listen', 'approve', 'deny', 'report', 'acknowledge'] as const;

interface SavedDevice {
  url: string;
  state: SimulatedDeviceState;
  /** Pushes already printed by `listen` and answered, by `<nid>:<tok>`. */
  seen: string[];
  answered: string[];
}

const key = (push: ReceivedPush) => `${push.notificationId}:${push.token}`;

/** `idrelay device enrol|listen|approve|deny|report|acknowledge`. */
export const deviceCommand: Command = {
  name: 'device',
  summary: 'a simulated device: enrol, listen, approve/deny/report/acknowledge',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse(
      'device',
      args,
      {
        url: CLIENT_OPTIONS.url,
        config: CLIENT_OPTIONS.config,
        id: { type: 'string' },
        'state-dir': { type: 'string' },
        platform: { type: 'string' },
        algorithm: { type: 'string' },
        code: { type: 'string' },
        bearer: { type: 'string' },
        timeout: { type: 'string' },
        notification: { type: 'string' },
        comment: { type: 'string' },
      },
      1,
    );
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    const action = oneOf('device', 'action (first argument)', positionals[0], ACTIONS);
    const deviceId = required('device', values, 'id');
    if (!/^[\w.@-]{1,128}$/.test(deviceId)) {
      throw new UsageError('--id must be 1-128 letters, digits, _ . @ -', 'device');
    }
    const dir = resolve(io.cwd, values['state-dir'] ?? join('.idrelay', 'devices'));
    const file = join(dir, `${deviceId}.json`);

    if (action === 'enrol') {
      const platform = oneOf('device', 'platform', values.platform, ['apns', 'fcm', 'webpush']);
      const algorithm = oneOf('device', 'algorithm', values.algorithm, ['ES256', 'Ed25519'], 'ES256');
      if ((values.code === undefined) === (values.bearer === undefined)) {
        throw new UsageError('device enrol needs exactly one of --code or --bearer', 'device');
      }
      const { url } = await connect(values, io);
      const device = await createSimulatedDevice({
        baseUrl: url,
        platform,
        algorithm,
        deviceId,
        channel: remotePushChannel({ baseUrl: url, prefix: SANDBOX_PREFIX }),
      });
      const answer = await device.enrol(
        values.code !== undefined ? { code: values.code } : { bearer: values.bearer as string },
      );
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const saved: SavedDevice = { url, state: device.state(), seen: [], answered: [] };
      await writeFile(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
      io.stderr.write(`✓ Enrolled ${deviceId} (${platform}, ${algorithm}); kept in ${file}\n`);
      printJson(io, answer);
      return EXIT_CODES.ok;
    }

    const saved = await load(file, deviceId);
    const device = await createSimulatedDevice({
      baseUrl: saved.url,
      platform: saved.state.platform,
      deviceId,
      channel: remotePushChannel({ baseUrl: saved.url, prefix: SANDBOX_PREFIX }),
      state: saved.state,
    });
    if (action === 'listen') {
      const timeoutMs = milliseconds('device', 'timeout', values.timeout, 60_000);
      const seen = new Set(saved.seen);
      const push = await device.waitForPush((p) => !seen.has(key(p)), { timeoutMs });
      saved.seen.push(key(push));
      await writeFile(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
      await show(io, device, push);
      return EXIT_CODES.ok;
    }

    const inbox = await device.inbox();
    const answered = new Set(saved.answered);
    const push =
      values.notification === undefined
        ? inbox.filter((p) => p.token !== undefined && !answered.has(key(p))).at(-1)
        : inbox.filter((p) => p.notificationId === values.notification && p.token !== undefined).at(-1);
    if (push === undefined) {
      io.stderr.write(
        `idrelay: ${deviceId} has no ${values.notification === undefined ? 'unanswered push' : `push ${values.notification}`} to answer\n`,
      );
      return EXIT_CODES.failure;
    }
    const result = await device.respond(push, action, {
      ...(values.code === undefined ? {} : { code: values.code }),
      ...(values.comment === undefined ? {} : { comment: values.comment }),
    });
    saved.answered.push(key(push));
    await writeFile(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
    printJson(io, result);
    return EXIT_CODES.ok;
  },
};

async function load(file: string, deviceId: string): Promise<SavedDevice> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as SavedDevice;
  } catch {
    throw new UsageError(`no enrolled device ${deviceId} in ${file}; run \`idrelay device enrol\` first`, 'device');
  }
}

async function show(io: CliIo, device: SimulatedDevice, push: ReceivedPush): Promise<void> {
  const lines = [`Push ${push.notificationId ?? '(no id)'} on ${device.deviceId} (${push.platform})`];
  if (push.title !== undefined) lines.push(`  ${push.title}`);
  if (push.body !== undefined) lines.push(`  ${push.body}`);
  let details: unknown;
  if (push.token !== undefined) {
    const d = await device.details(push);
    details = d;
    lines.push(`  actions: ${d.actions.join(', ')}`);
    if (d.numberMatching)
      lines.push('  Enter the number shown on the sign-in screen: idrelay device approve --code <number>');
  }
  io.stderr.write(`${lines.join('\n')}\n`);
  printJson(io, { push: { ...push, raw: undefined }, details });
}
