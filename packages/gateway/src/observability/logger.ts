import { type DestinationStream, type Level, type Logger as PinoLogger, pino } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. Default `info`. */
  level?: Level | 'silent';
  /** Where lines go; default standard output. A test passes a stream that collects them. */
  destination?: DestinationStream;
  /** Fields on every line (`{ service: 'idrelay' }`). */
  base?: Record<string, unknown>;
}

/**
 * Field paths that never reach a log line, whatever a caller passes: credentials (Authorization, cookies, API keys,
 * tokens, secrets, passwords, private keys), device proofs, number-matching codes and bodies. Request logs only
 * write method, route, status, duration and id; this is the second line of defence for everything else.
 */
export const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'apiKey',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'password',
  'privateKey',
  'proof',
  'numberMatch',
  'body',
  'payload',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'headers["webhook-signature"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
].flatMap((path) => (path.includes('.') ? [path] : [path, `*.${path}`]));

/**
 * A pino logger with idrelay's redaction (see {@link REDACTED_PATHS}) and `err` serialised with code and
 * message. Compatible with the core `Logger` port, so the relay, the gateway and the stores can share it.
 *
 * @see https://getpino.io/#/docs/redaction
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info' });
 * const relay = createRelay({ ...options, logger });
 * const gateway = createGateway({ relay, store, logger, requestLog: createRequestLog(logger) });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? {},
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
    },
    options.destination,
  );
}

/** An error as a log field: name, code and message (ours never hold a secret), and the cause's code; no stack for coded errors. */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error).slice(0, 500) };
  const code = (error as { code?: unknown }).code;
  const cause = (error.cause as { code?: unknown } | undefined)?.code;
  return {
    name: error.name,
    message: error.message.slice(0, 1_000),
    ...(code === undefined ? { stack: error.stack } : { code }),
    ...(cause === undefined ? {} : { cause }),
  };
}
