import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse } from '../args.js';
import { CLIENT_HELP, CLIENT_OPTIONS, connect } from '../client.js';
import { type Command, printJson } from '../command.js';
import { EXIT_CODES, UsageError } from '../exit-codes.js';

const HELP = `Usage: idrelay preview <event.json> [options]

Explains who would get an event and why — rules, recipients, devices, what is skipped — without sending or
storing anything (POST /v1/preview, API key scope "preview"). The file holds one CloudEvent (JSON).

Options:
${CLIENT_HELP}

Exit codes: 0 previewed, 1 refused (invalid event, missing scope) or unreachable, 2 usage error or unreadable file.`;

/** `idrelay preview <event.json>`. */
export const previewCommand: Command = {
  name: 'preview',
  summary: 'explain who an event would reach, without sending',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parse('preview', args, CLIENT_OPTIONS, 1);
    if (values.help) {
      io.stdout.write(`${HELP}\n`);
      return EXIT_CODES.ok;
    }
    const file = positionals[0];
    if (file === undefined) throw new UsageError('preview needs the path of an event file', 'preview');
    let text: string;
    try {
      text = await readFile(resolve(io.cwd, file), 'utf8');
      JSON.parse(text);
    } catch (error) {
      throw new UsageError(`cannot read ${file} as JSON: ${(error as Error).message}`, 'preview');
    }
    const client = await connect(values, io);
    printJson(io, await client.call('POST', '/v1/preview', text));
    return EXIT_CODES.ok;
  },
};
