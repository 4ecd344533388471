import { milliseconds, parse, required } from '../args.js';
import { CLIENT_HELP, CLIENT_OPTIONS, connect } from '../client.js';
import { type Command, printJson } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';
import { createProgress } from '../io.js';

const HELP = `Usage: idrelay send --user <id> [options]

Sends a test push to a user's enrolled devices: a login verification with number matching (POST /v1/verifications),
so the push can be answered from the device. Prints the verification id and the code to type on the device.

Options:
  --user <id>          the user (required)
  --application <name> shown on the device (default "idrelay test")
  --ip <address>       the sign-in's IP address shown on the device (default 127.0.0.1)
  --wait               wait until the user answers, then print the outcome
  --timeout <ms>       how long --wait waits (default 120000)
${CLIENT_HELP}

Exit codes: 0 sent (with --wait: approved), 1 refused, unreachable, denied or expired, 2 usage error.`;

const FINAL = new Set(['approved', 'denied', 'expired', 'failed']);

/** `idrelay send --user <id>`: a test push (login verification). */
export const sendCommand: Command = {
  name: 'send',
  summary: 'send a test push (a login verification) to a user',
  help: HELP,
  async run(args, io) {
    const { values } = parse('send', args, {
      ...CLIENT_OPTIONS,
      user: { type: 'string' },
      application: { type: 'string' },
      ip: { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
    });
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    const userId = required('send', values, 'user');
    const timeoutMs = milliseconds('send', 'timeout', values.timeout, 120_000);
    const client = await connect(values, io);
    const progress = createProgress(io.stderr);
    progress.step(`Sending a verification push to ${userId}`);
    const name = values.application ?? 'idrelay test';
    const started = (await client.call('POST', '/v1/verifications', {
      userId,
      application: {
        id:
          name
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, '-')
            .replace(/^-+|-+$/g, '') || 'test',
        name,
      },
      ip: values.ip ?? '127.0.0.1',
    })) as { verificationId: string; code: string; expiresAt: number };
    progress.done(`Sent: type ${started.code} on the device (verification ${started.verificationId})`);
    if (!values.wait) {
      printJson(io, started);
      return EXIT_CODES.ok;
    }
    progress.step('Waiting for the answer');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = (await client.call('GET', `/v1/verifications/${encodeURIComponent(started.verificationId)}`)) as {
        status: string;
      };
      if (FINAL.has(state.status)) {
        (state.status === 'approved' ? progress.done : progress.fail)(`The user answered: ${state.status}`);
        printJson(io, state);
        return state.status === 'approved' ? EXIT_CODES.ok : EXIT_CODES.failure;
      }
      if (Date.now() >= deadline) {
        progress.fail(`No answer within ${timeoutMs} ms`);
        return EXIT_CODES.failure;
      }
      // Polling is how an IAM system follows a verification (GET /v1/verifications/{id}); once a second is enough.
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, deadline - Date.now())));
    }
  },
};
