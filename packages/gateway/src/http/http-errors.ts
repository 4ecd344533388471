import { type ErrorCode, type ErrorInfo, IdrelayError, registerErrorCodes } from '@idrelay/core';
import { problemResponse } from '@idrelay/engine';

declare module '@idrelay/core' {
  interface ErrorCodeRegistry {
    ERR_HTTP_NOT_FOUND: ErrorInfo;
    ERR_HTTP_METHOD_NOT_ALLOWED: ErrorInfo;
    ERR_HTTP_BODY_TOO_LARGE: ErrorInfo;
    ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: ErrorInfo;
    ERR_HTTP_MALFORMED_JSON: ErrorInfo;
    ERR_HTTP_INVALID_REQUEST: ErrorInfo;
    ERR_HTTP_RATE_LIMITED: ErrorInfo;
    ERR_HTTP_UNAVAILABLE: ErrorInfo;
    ERR_AUTH_MISSING: ErrorInfo;
    ERR_AUTH_INVALID: ErrorInfo;
    ERR_AUTH_FORBIDDEN: ErrorInfo;
    ERR_WEBHOOK_SIGNATURE_INVALID: ErrorInfo;
    ERR_WEBHOOK_TIMESTAMP: ErrorInfo;
    ERR_WEBHOOK_REPLAYED: ErrorInfo;
    ERR_DEVICE_NOT_FOUND: ErrorInfo;
    ERR_EVENT_NOT_FOUND: ErrorInfo;
  }
}

/** The gateway's HTTP error codes (besides the engine's), registered with core on import. */
export const HTTP_ERRORS = {
  ERR_HTTP_NOT_FOUND: { status: 404, retryable: false, message: 'No route has this path.' },
  ERR_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    message: 'The route exists but not with this method; `Allow` lists the methods it takes.',
  },
  ERR_HTTP_BODY_TOO_LARGE: {
    status: 413,
    retryable: false,
    message: 'The request body is larger than the route accepts (1 MiB for events, 16 KiB elsewhere by default).',
  },
  ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    message: 'The request body has a content type the route does not take.',
  },
  ERR_HTTP_MALFORMED_JSON: { status: 400, retryable: false, message: 'The request body is not valid JSON.' },
  ERR_HTTP_INVALID_REQUEST: {
    status: 400,
    retryable: false,
    message: 'The request’s body, path or query does not match the route’s schema; `detail` names the field.',
  },
  ERR_HTTP_RATE_LIMITED: {
    status: 429,
    retryable: true,
    message: 'Too many requests for this API key, sender or user; retry after `Retry-After` seconds.',
  },
  ERR_HTTP_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The gateway is shutting down or not ready; retry on another instance or later.',
  },
  ERR_AUTH_MISSING: {
    status: 401,
    retryable: false,
    message: 'The route needs an API key (`Authorization: Bearer idr_…`) or a Standard Webhooks signature.',
  },
  ERR_AUTH_INVALID: { status: 401, retryable: false, message: 'The API key is not one the gateway knows.' },
  ERR_AUTH_FORBIDDEN: {
    status: 403,
    retryable: false,
    message: 'The API key or sender lacks the scope this route needs (`ingest`, `preview` or `admin`).',
  },
  ERR_WEBHOOK_SIGNATURE_INVALID: {
    status: 401,
    retryable: false,
    message: 'The Standard Webhooks headers are missing or malformed, or no configured secret produced the signature.',
  },
  ERR_WEBHOOK_TIMESTAMP: {
    status: 401,
    retryable: false,
    message: '`webhook-timestamp` is outside the accepted window (5 minutes by default) of the gateway’s clock.',
  },
  ERR_WEBHOOK_REPLAYED: {
    status: 409,
    retryable: false,
    message: 'A message with this `webhook-id` was already accepted from this sender.',
  },
  ERR_DEVICE_NOT_FOUND: { status: 404, retryable: false, message: 'No device is registered with this id.' },
  ERR_EVENT_NOT_FOUND: {
    status: 404,
    retryable: false,
    message: 'No event with this key (or source and id) was ingested.',
  },
} as const satisfies Record<string, ErrorInfo>;

registerErrorCodes(HTTP_ERRORS);

/** A gateway error code. */
export type HttpErrorCode = keyof typeof HTTP_ERRORS;

/** Builds (does not throw) the coded error a route refuses with. */
export function httpError(code: ErrorCode, message: string, details?: Record<string, unknown>): IdrelayError {
  return new IdrelayError(code, message, details === undefined ? {} : { details });
}

/**
 * The engine's RFC 9457 problem response for `error`, with extra headers (`Allow`, `WWW-Authenticate`,
 * `Retry-After`) and, for a refused batch, the index of the event at fault.
 */
export async function problem(error: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const base = problemResponse(error);
  const details = (error as IdrelayError | undefined)?.details as Record<string, unknown> | undefined;
  const extra: Record<string, unknown> = {};
  for (const key of ['index', 'issues'] as const) if (details && key in details) extra[key] = details[key];
  if (Object.keys(headers).length === 0 && Object.keys(extra).length === 0) return base;
  const body =
    Object.keys(extra).length === 0
      ? await base.text()
      : JSON.stringify({ ...((await base.json()) as Record<string, unknown>), ...extra });
  const merged = new Headers(base.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(body, { status: base.status, headers: merged });
}
