import { type ErrorCode, IdrelayError } from '@idrelay/core';
import type { z } from 'zod';

/**
 * Parses `value` with `schema`, or throws `code` naming the first failing field (`deviceId: Too small: …`), with
 * every issue in `details.issues` (`{ path, message, code }`).
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, code: ErrorCode): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message,
    code: issue.code,
  }));
  const first = issues[0] as { path: string; message: string };
  return throwError(new IdrelayError(code, `${first.path || '(body)'}: ${first.message}`, { details: { issues } }));
}

function throwError(error: IdrelayError): never {
  throw error;
}
