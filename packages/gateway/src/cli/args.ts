import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every command takes. */
export const COMMON_OPTIONS = { help: { type: 'boolean', short: 'h' } } as const satisfies Options;

/**
 * `node:util` `parseArgs`, strict, with its errors turned into {@link UsageError}s naming the command.
 *
 * @example
 * ```ts
 * const { values } = parse('send', argv, { user: { type: 'string' } });
 * ```
 */
export function parse<O extends Options>(command: string, args: readonly string[], options: O, positionals = 0) {
  try {
    const parsed = parseArgs({
      args: [...args],
      options: { ...COMMON_OPTIONS, ...options },
      allowPositionals: positionals > 0,
      strict: true,
    });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`unexpected argument ${parsed.positionals[positionals]}`, command);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(message, command);
  }
}

/** A required string option, or a {@link UsageError}. */
export function required(command: string, values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`${command} needs --${name}`, command);
  return value;
}

/** One of `choices`, or a {@link UsageError}. */
export function oneOf<T extends string>(
  command: string,
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback?: T,
): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (value !== undefined && (choices as readonly string[]).includes(value)) return value as T;
  throw new UsageError(
    `--${name} must be one of ${choices.join(', ')}${value === undefined ? '' : `, got ${value}`}`,
    command,
  );
}

/** A positive whole number of milliseconds, or a {@link UsageError}. */
export function milliseconds(command: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive whole number of ms`, command);
  return n;
}
