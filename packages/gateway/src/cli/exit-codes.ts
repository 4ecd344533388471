/**
 * The `idrelay` exit codes: `0` the command did what was asked, `1` it failed (a refused request, an unreachable
 * gateway, an invalid configuration, a scenario not observed), `2` the command line itself is wrong (unknown
 * command or option, missing argument) — nothing was attempted.
 */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2 } as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * A command line the CLI cannot act on; exits with {@link EXIT_CODES}.usage after printing the message and where
 * to find help.
 *
 * @example
 * ```ts
 * throw new UsageError('send needs --user <id>', 'send');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose `--help` explains the right usage. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}
