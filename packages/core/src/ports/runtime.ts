/** Time, injectable so tests use a fake clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Structured logging, shaped like pino's so a pino logger fits as it is. */
export interface Logger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
}

/** A logger that drops everything; the default. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
