import {
  type BackoffPolicy,
  backoffDelay,
  type Clock,
  IdrelayError,
  type Logger,
  parseRetryAfter,
  sleep,
  type Timers,
} from '@idrelay/core';
import '../errors.js';

/** How one OTDS request is sent: timeouts, retries and the limits on what comes back. */
export interface HttpSettings {
  fetch: typeof globalThis.fetch;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries after the first attempt, for 429, 5xx, timeouts and network failures. */
  retries: number;
  backoff: BackoffPolicy;
  /** The longest `Retry-After` honoured; longer ones end the retries. */
  maxRetryAfterMs: number;
  maxResponseBytes: number;
  timers: Timers;
  clock: Clock;
  random: () => number;
  logger: Logger;
}

/** A request to send. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** A JSON body. */
  json?: unknown;
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: URLSearchParams;
  signal?: AbortSignal;
}

/** What came back: the status and the parsed JSON body (`undefined` when empty). */
export interface HttpResponse {
  status: number;
  body: unknown;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

class AttemptTimeout extends Error {}

/**
 * Sends `request` once per attempt until OTDS answers something final: a 2xx (body parsed), or a 4xx other than
 * 429 (returned as is, for the caller to map), retrying 429 and 5xx (honouring `Retry-After`), timeouts and
 * network failures with full-jitter backoff. Throws `ERR_OTDS_RATE_LIMITED`, `ERR_OTDS_UNAVAILABLE` or
 * `ERR_OTDS_TIMEOUT` when the retries run out, `ERR_OTDS_RESPONSE_INVALID` for a body that is not JSON, and the
 * caller's abort reason when `request.signal` aborts.
 */
export async function send(settings: HttpSettings, request: HttpRequest): Promise<HttpResponse> {
  let last: IdrelayError | undefined;
  for (let attempt = 1; attempt <= settings.retries + 1; attempt++) {
    request.signal?.throwIfAborted();
    let waitMs: number | undefined;
    try {
      const response = await attemptOnce(settings, request);
      if (!RETRYABLE_STATUS.has(response.status)) return await readBody(settings, response);
      const retryAfter = parseRetryAfter(response.headers.get('retry-after') ?? undefined, settings.clock.now());
      await response.body?.cancel().catch(() => undefined);
      last = new IdrelayError(
        response.status === 429 ? 'ERR_OTDS_RATE_LIMITED' : 'ERR_OTDS_UNAVAILABLE',
        `OTDS answered ${response.status} to ${request.method} ${request.url.pathname}`,
        { details: { status: response.status, attempts: attempt } },
      );
      if (retryAfter !== undefined && retryAfter > settings.maxRetryAfterMs) throw last;
      waitMs = retryAfter;
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof IdrelayError) {
        if (error === last) throw error;
        if (error.code !== 'ERR_OTDS_TIMEOUT' && error.code !== 'ERR_OTDS_UNAVAILABLE') throw error;
        last = error;
      } else {
        throw error;
      }
    }
    if (attempt > settings.retries) break;
    const delay = Math.max(waitMs ?? 0, backoffDelay(attempt, settings.backoff, settings.random));
    settings.logger.debug(
      { code: last.code, attempt, delayMs: delay, path: request.url.pathname },
      'otds: retrying after a transient failure',
    );
    const slept = await sleep(delay, { signal: request.signal, timers: settings.timers });
    if (!slept) throw request.signal?.reason;
  }
  throw last ?? new IdrelayError('ERR_OTDS_UNAVAILABLE', 'OTDS was not asked (no attempt allowed)');
}

async function attemptOnce(settings: HttpSettings, request: HttpRequest): Promise<Response> {
  const controller = new AbortController();
  const timer = settings.timers.setTimeout(() => controller.abort(new AttemptTimeout()), settings.timeoutMs);
  const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.json);
  } else if (request.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = request.form.toString();
  }
  try {
    return await settings.fetch(request.url, { method: request.method, headers, body, signal, redirect: 'error' });
  } catch (error) {
    if (request.signal?.aborted) throw request.signal.reason;
    if (controller.signal.aborted) {
      throw new IdrelayError(
        'ERR_OTDS_TIMEOUT',
        `OTDS did not answer ${request.method} ${request.url.pathname} within ${settings.timeoutMs} ms`,
        { details: { timeoutMs: settings.timeoutMs } },
      );
    }
    throw new IdrelayError('ERR_OTDS_UNAVAILABLE', `OTDS could not be reached at ${request.url.origin}`, {
      cause: error,
    });
  } finally {
    settings.timers.clearTimeout(timer);
  }
}

async function readBody(settings: HttpSettings, response: Response): Promise<HttpResponse> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > settings.maxResponseBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(settings);
  }
  const text = await response.text();
  if (Buffer.byteLength(text) > settings.maxResponseBytes) throw tooLarge(settings);
  if (text.trim() === '') return { status: response.status, body: undefined };
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch (error) {
    if (response.status >= 400) return { status: response.status, body: text.slice(0, 512) };
    throw new IdrelayError(
      'ERR_OTDS_RESPONSE_INVALID',
      `OTDS answered ${response.status} with a body that is not JSON`,
      {
        cause: error,
        details: { status: response.status },
      },
    );
  }
}

function tooLarge(settings: HttpSettings): IdrelayError {
  return new IdrelayError(
    'ERR_OTDS_RESPONSE_INVALID',
    `OTDS answered with more than maxResponseBytes (${settings.maxResponseBytes})`,
    { details: { maxResponseBytes: settings.maxResponseBytes } },
  );
}

/** Maps a final non-2xx answer to the package's error. */
export function statusError(response: HttpResponse, what: string): IdrelayError {
  const details = { status: response.status, body: excerpt(response.body) };
  switch (response.status) {
    case 401:
      return new IdrelayError('ERR_OTDS_AUTH_FAILED', `OTDS refused the credentials for ${what}`, { details });
    case 403:
      return new IdrelayError('ERR_OTDS_FORBIDDEN', `OTDS forbade ${what}`, { details });
    case 404:
      return new IdrelayError('ERR_OTDS_NOT_FOUND', `OTDS found nothing for ${what}`, { details });
    default:
      return new IdrelayError('ERR_OTDS_REQUEST_REFUSED', `OTDS refused ${what} with ${response.status}`, { details });
  }
}

function excerpt(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 512 ? `${text.slice(0, 512)}…` : text;
}
