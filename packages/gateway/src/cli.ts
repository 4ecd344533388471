#!/usr/bin/env node
/**
 * The `idrelay` command: `start`, `demo`, `keys`, `send`, `preview`, `devices`, `deliveries`, `device`. Exit codes:
 * 0 success, 1 failure, 2 usage error (see `EXIT_CODES`).
 *
 * @packageDocumentation
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runCli } from './cli/run.js';

export { EXIT_CODES, type ExitCode, UsageError } from './cli/exit-codes.js';
export type { CliIo, CliStream } from './cli/io.js';
export { runCli } from './cli/run.js';

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const stopSignal = new Promise<string>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
  });
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stopSignal,
  });
  // Agents and pools (keep-alive sockets, firebase-admin) may hold the loop open after a command is done.
  process.exit(code);
}
