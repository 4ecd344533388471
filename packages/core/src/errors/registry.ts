import { CORE_ERRORS, type CoreErrorCode, type ErrorCode, type ErrorInfo } from './codes.js';
import { IdrelayError } from './idrelay-error.js';

const CODE_SHAPE = /^ERR_[A-Z0-9]+(_[A-Z0-9]+)+$/;

// One vocabulary per process, like the codes themselves: registration only ever adds a code, never changes one, so
// two packages (or two relays) registering the same code cannot change what the other sees.
const registered = new Map<string, ErrorInfo>();

/**
 * Registers a package's own error codes at run time, so {@link isErrorCode} accepts them and {@link errorInfo}
 * gives their status and retryability (a gateway's problem+json answer uses both). Declare the same codes for the
 * type system by merging them into `ErrorCodeRegistry`. Registering a code again with the same meaning, status and
 * retryability is a no-op, so a module may register on import; redefining one — an idrelay code or one another
 * package registered — is refused and registers nothing of the call.
 *
 * @throws IdrelayError `ERR_INVALID_ARGUMENT` for a code not shaped `ERR_AREA_NAME`, a status outside 400–599, a
 *   non-boolean `retryable`, an empty message, or a code already defined differently (`details.code`).
 * @example
 * ```ts
 * import { type ErrorInfo, registerErrorCodes } from '@idrelay/core';
 *
 * declare module '@idrelay/core' {
 *   interface ErrorCodeRegistry {
 *     ERR_ACME_LDAP_BIND: ErrorInfo;
 *   }
 * }
 * registerErrorCodes({
 *   ERR_ACME_LDAP_BIND: { status: 502, retryable: true, message: 'The LDAP server refused the bind.' },
 * });
 * throw new IdrelayError('ERR_ACME_LDAP_BIND', 'Bind as cn=relay failed');
 * ```
 */
export function registerErrorCodes(codes: Readonly<Record<string, ErrorInfo>>): void {
  const entries = Object.entries(codes).map(([code, info]) => [code, checked(code, info)] as const);
  for (const [code, info] of entries) {
    const known = lookup(code);
    if (known !== undefined && !sameInfo(known, info)) {
      throw new IdrelayError('ERR_INVALID_ARGUMENT', `Error code ${code} is already defined differently.`, {
        details: { code, defined: { ...known }, offered: { ...info } },
      });
    }
  }
  for (const [code, info] of entries) if (!Object.hasOwn(CORE_ERRORS, code)) registered.set(code, info);
}

/**
 * The meaning, HTTP status and retryability of an error code: one of idrelay's, or one registered with
 * {@link registerErrorCodes}; `undefined` for anything else.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9457#section-3.1
 * @example
 * ```ts
 * const { status, retryable } = errorInfo(error.code) ?? { status: 500, retryable: false };
 * ```
 */
export function errorInfo(code: CoreErrorCode): ErrorInfo;
export function errorInfo(code: string): ErrorInfo | undefined;
export function errorInfo(code: string): ErrorInfo | undefined {
  return lookup(code);
}

/** True when `code` is one of idrelay's error codes or one registered with {@link registerErrorCodes}. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && lookup(code) !== undefined;
}

function lookup(code: string): ErrorInfo | undefined {
  return Object.hasOwn(CORE_ERRORS, code) ? CORE_ERRORS[code as CoreErrorCode] : registered.get(code);
}

function checked(code: string, info: ErrorInfo): ErrorInfo {
  const problem = problemOf(code, info);
  if (problem !== undefined) {
    throw new IdrelayError('ERR_INVALID_ARGUMENT', `Error code ${code} ${problem}.`, { details: { code } });
  }
  return Object.freeze({ message: info.message, status: info.status, retryable: info.retryable });
}

function problemOf(code: string, info: ErrorInfo): string | undefined {
  if (!CODE_SHAPE.test(code)) return 'is not shaped ERR_AREA_NAME';
  if (typeof info !== 'object' || info === null) return 'needs { message, status, retryable }';
  if (!(Number.isInteger(info.status) && info.status >= 400 && info.status <= 599)) {
    return 'needs an HTTP error status (400–599)';
  }
  if (typeof info.retryable !== 'boolean') return 'needs a boolean retryable';
  if (typeof info.message !== 'string' || info.message.trim() === '') return 'needs a message';
  return undefined;
}

function sameInfo(a: ErrorInfo, b: ErrorInfo): boolean {
  return a.message === b.message && a.status === b.status && a.retryable === b.retryable;
}
