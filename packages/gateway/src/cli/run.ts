import { isIdrelayError } from '@idrelay/core';
import { DeviceRequestError, PushTimeoutError } from '@idrelay/testkit/device';
import { GatewayRequestError } from './client.js';
import type { Command } from './command.js';
import { deliveriesCommand } from './commands/deliveries.js';
import { demoCommand } from './commands/demo.js';
import { deviceCommand } from './commands/device.js';
import { devicesCommand } from './commands/devices.js';
import { keysCommand } from './commands/keys.js';
import { previewCommand } from './commands/preview.js';
import { sendCommand } from './commands/send.js';
import { startCommand } from './commands/start.js';
import { EXIT_CODES, UsageError } from './exit-codes.js';
import type { CliIo } from './io.js';

/** Every `idrelay` command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [
  startCommand,
  demoCommand,
  keysCommand,
  sendCommand,
  previewCommand,
  devicesCommand,
  deliveriesCommand,
  deviceCommand,
];

/** The top-level `idrelay --help`. */
export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: idrelay <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`idrelay <command> --help\` for a command's options.

Exit codes: 0 success, 1 failure (refused, unreachable, invalid configuration, expectation not met),
2 usage error (unknown command or option, missing argument).`;
}

/**
 * Runs `idrelay` with `argv` (without `node` and the script) and resolves with the exit code; never throws. Errors
 * are printed on stderr: usage errors with a pointer to `--help` (exit 2), coded errors with their code (exit 1).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (name === 'help' && rest[0] !== undefined && topic === undefined) {
      io.stderr.write(`idrelay: unknown command ${rest[0]}\n\n${usage()}\n`);
      return EXIT_CODES.usage;
    }
    (name === undefined ? io.stderr : io.stdout).write(`${topic?.help ?? usage()}\n`);
    return name === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr.write(`idrelay: unknown command ${name}\n\n${usage()}\n`);
    return EXIT_CODES.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return report(error, io);
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    const help = error.command === undefined ? 'idrelay --help' : `idrelay ${error.command} --help`;
    io.stderr.write(`idrelay: ${error.message}\nSee \`${help}\`.\n`);
    return EXIT_CODES.usage;
  }
  if (
    isIdrelayError(error) ||
    error instanceof GatewayRequestError ||
    error instanceof DeviceRequestError ||
    error instanceof PushTimeoutError
  ) {
    io.stderr.write(`idrelay: ${error.code}: ${error.message}\n`);
    return EXIT_CODES.failure;
  }
  // System errors (EADDRINUSE, EACCES, ENOENT…) say enough in their message; anything else gets its stack.
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    io.stderr.write(`idrelay: ${code}: ${(error as Error).message}\n`);
    return EXIT_CODES.failure;
  }
  io.stderr.write(`idrelay: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT_CODES.failure;
}
