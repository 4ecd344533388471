import { parse, required } from '../args.js';
import { CLIENT_HELP, CLIENT_OPTIONS, connect } from '../client.js';
import { type Command, printJson } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';

const HELP = `Usage: idrelay devices list --user <id> [options]

Lists a user's registered devices (GET /v1/users/{id}/devices, API key scope "admin"): id, platform, whether a key
is enrolled, when it was last updated.

Options:
  --user <id>   the user (required)
  --json        print the gateway's JSON instead of a table
${CLIENT_HELP}

Exit codes: 0 listed, 1 refused or unreachable, 2 usage error.`;

interface DeviceView {
  deviceId: string;
  platform: string;
  enrolled?: boolean;
  name?: string;
  updatedAt?: number;
}

/** `idrelay devices list --user <id>`. */
export const devicesCommand: Command = {
  name: 'devices',
  summary: 'list a user’s devices',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse(
      'devices',
      args,
      { ...CLIENT_OPTIONS, user: { type: 'string' }, json: { type: 'boolean' } },
      1,
    );
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    if (positionals[0] !== 'list') {
      const sub = positionals[0];
      throw new UsageError(
        sub === undefined ? 'devices needs a sub-command: list' : `unknown sub-command ${sub}`,
        'devices',
      );
    }
    const userId = required('devices', values, 'user');
    const client = await connect(values, io);
    const { devices } = (await client.call('GET', `/v1/users/${encodeURIComponent(userId)}/devices`)) as {
      devices: DeviceView[];
    };
    if (values.json) {
      printJson(io, { devices });
      return EXIT_CODES.ok;
    }
    if (devices.length === 0) io.stdout.write(`${userId} has no devices\n`);
    for (const d of devices) {
      const updated = d.updatedAt === undefined ? '' : new Date(d.updatedAt).toISOString();
      io.stdout.write(`${d.deviceId}\t${d.platform}\t${d.enrolled ? 'key enrolled' : 'no key'}\t${updated}\n`);
    }
    return EXIT_CODES.ok;
  },
};
