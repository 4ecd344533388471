import type { EventInvalidDetails } from '../events/parse.js';
import type { ErrorCode } from './codes.js';

/** The shape of `details` for codes whose details are typed; others carry a plain record. */
export interface ErrorDetailsByCode {
  ERR_EVENT_INVALID: EventInvalidDetails;
  ERR_SUBJECT_INVALID: { issues: Array<{ path: string; message: string }> };
}

/** `details` of an error with code `C`. */
export type ErrorDetailsOf<C extends ErrorCode> = C extends keyof ErrorDetailsByCode
  ? ErrorDetailsByCode[C]
  : Record<string, unknown>;

/** Options accepted by {@link IdrelayError}. */
export interface IdrelayErrorOptions<TDetails> {
  /** The foreign error this one wraps, kept for diagnosis. */
  cause?: unknown;
  /** Structured facts about the failure (failing paths, HTTP status, provider reason …). */
  details?: TDetails;
}

/**
 * The base of every error idrelay throws. `code` is a literal from {@link ERROR_CODES}, so a `switch` on it
 * narrows; `cause` keeps the foreign error wrapped at a package boundary.
 *
 * @example
 * ```ts
 * try {
 *   parseEvent(body);
 * } catch (error) {
 *   if (isIdrelayError(error, 'ERR_EVENT_INVALID')) console.log(error.details?.issues);
 * }
 * ```
 */
export class IdrelayError<TCode extends ErrorCode = ErrorCode, TDetails = Record<string, unknown>> extends Error {
  override readonly name: string = 'IdrelayError';
  readonly code: TCode;
  readonly details: TDetails | undefined;

  constructor(code: TCode, message: string, options: IdrelayErrorOptions<TDetails> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    Error.captureStackTrace?.(this, new.target);
  }

  /** A plain object for logs and HTTP problem responses; `cause` is reduced to its message. */
  toJSON(): { name: string; code: TCode; message: string; details?: TDetails; cause?: string } {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.cause instanceof Error ? { cause: this.cause.message } : {}),
    };
  }
}

/**
 * True when `error` is an {@link IdrelayError}, optionally with the given code. Works across copies of the
 * package (duplicate installs) by checking the shape rather than the prototype chain alone.
 */
export function isIdrelayError<TCode extends ErrorCode = ErrorCode>(
  error: unknown,
  code?: TCode,
): error is IdrelayError<TCode, ErrorDetailsOf<TCode>> {
  if (!(error instanceof Error)) return false;
  const candidate = error as Partial<IdrelayError>;
  if (typeof candidate.code !== 'string' || !candidate.code.startsWith('ERR_')) return false;
  if (!(error instanceof IdrelayError) && error.name !== 'IdrelayError') return false;
  return code === undefined || candidate.code === code;
}
