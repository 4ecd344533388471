import { milliseconds, parse, required } from '../args.js';
import { CLIENT_HELP, CLIENT_OPTIONS, connect } from '../client.js';
import type { Command } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';

const HELP = `Usage: idrelay deliveries tail --event <source#id> [options]

Follows the deliveries of one event (GET /v1/deliveries?event=…): a line per delivery whenever its status or
attempt count changes, until every delivery is final (delivered, failed, dead, expired, cancelled) or --timeout.

Options:
  --event <key>    the event key, <source>#<id> (required)
  --timeout <ms>   stop following after this long (default 60000)
  --once           print the current state and stop
${CLIENT_HELP}

Exit codes: 0 all final (or --once), 1 refused, unreachable or timed out, 2 usage error.`;

const PENDING = new Set(['pending', 'claimed']);

interface DeliveryView {
  id: string;
  userId: string;
  deviceId: string;
  platform: string;
  status: string;
  attempts: number;
  lastError?: { code?: string } | string;
}

/** `idrelay deliveries tail --event <key>`. */
export const deliveriesCommand: Command = {
  name: 'deliveries',
  summary: 'follow the deliveries of an event',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse(
      'deliveries',
      args,
      { ...CLIENT_OPTIONS, event: { type: 'string' }, timeout: { type: 'string' }, once: { type: 'boolean' } },
      1,
    );
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    if (positionals[0] !== 'tail') {
      throw new UsageError(
        positionals[0] === undefined ? 'deliveries needs a sub-command: tail' : `unknown sub-command ${positionals[0]}`,
        'deliveries',
      );
    }
    const event = required('deliveries', values, 'event');
    const timeoutMs = milliseconds('deliveries', 'timeout', values.timeout, 60_000);
    const client = await connect(values, io);
    const seen = new Map<string, string>();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { deliveries } = (await client.call('GET', `/v1/deliveries?event=${encodeURIComponent(event)}`)) as {
        deliveries: DeliveryView[];
      };
      for (const d of deliveries) {
        const line = `${d.status}\t${d.attempts}`;
        if (seen.get(d.id) === line) continue;
        seen.set(d.id, line);
        const error = typeof d.lastError === 'string' ? d.lastError : d.lastError?.code;
        io.stdout.write(
          `${d.id}\t${d.userId}\t${d.deviceId}\t${d.platform}\t${d.status}\tattempts=${d.attempts}${error ? `\t${error}` : ''}\n`,
        );
      }
      if (values.once || deliveries.every((d) => !PENDING.has(d.status))) return EXIT_CODES.ok;
      if (Date.now() >= deadline) {
        io.stderr.write(`still pending after ${timeoutMs} ms\n`);
        return EXIT_CODES.failure;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, deadline - Date.now())));
    }
  },
};
