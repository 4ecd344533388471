import { errorInfo, isIdrelayError } from '@idrelay/core';
import type { ActionRequest } from './authenticate.js';
import type { Responder } from './responder.js';

/** Largest request body the handlers read, in bytes. */
const MAX_BODY_BYTES = 16_384;

/** The `type` URI of a problem: idrelay's error code as a URN (RFC 9457 §3.1.1 allows any URI). */
export function problemType(code: string): string {
  return `urn:idrelay:error:${code}`;
}

/**
 * An RFC 9457 `application/problem+json` response for `error`: `type`, `title` (the code's meaning), `status`
 * (from core's error table), `detail` (this occurrence) and `code`; `retryAfterMs` and `attemptsLeft` when known.
 * Unexpected errors become a 500 without internals.
 */
export function problemResponse(error: unknown): Response {
  const code = isIdrelayError(error) ? error.code : 'ERR_STORE_UNAVAILABLE';
  const info = errorInfo(code) ?? { status: 500, message: 'Internal error', retryable: false };
  const status = isIdrelayError(error) ? info.status : 500;
  const details = isIdrelayError(error) ? ((error.details ?? {}) as Record<string, unknown>) : {};
  const body: Record<string, unknown> = {
    type: problemType(code),
    title: info.message,
    status,
    detail: isIdrelayError(error) ? error.message : 'The request could not be processed',
    code,
  };
  for (const key of ['attemptsLeft', 'retryAfterMs'] as const) if (key in details) body[key] = details[key];
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' };
  if (typeof details.retryAfterMs === 'number') headers['retry-after'] = String(Math.ceil(details.retryAfterMs / 1000));
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * Reads a request body of at most `maxBytes`, or returns `undefined` past it without ever holding more: a body whose
 * `Content-Length` is over the limit is not read; one within it is read whole with `arrayBuffer()` (the HTTP server
 * ends the body there, Node's parser reading that many bytes and no more, and `@hono/node-server` reads it straight
 * from the socket's stream instead of building a web `Request` and `ReadableStream` around it) and measured again,
 * for a `Request` built in process with a header that understates its body; a body without one (chunked) is
 * streamed and counted, and the stream cancelled as soon as it passes the limit.
 *
 * @example
 * ```ts
 * const body = await readBoundedBody(request, 16_384);
 * if (body === undefined) return new Response(null, { status: 413 });
 * ```
 */
export async function readBoundedBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const length = request.headers.get('content-length');
  if (length !== null && /^\d{1,16}$/.test(length)) {
    if (Number(length) > maxBytes) return undefined;
    const whole = new Uint8Array(await request.arrayBuffer());
    return whole.byteLength > maxBytes ? undefined : whole;
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON body of a `application/json` request; `undefined` (refused as an invalid request) otherwise. */
async function readJson(request: Request): Promise<unknown> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) return undefined;
  const body = await readBoundedBody(request, MAX_BODY_BYTES);
  if (body === undefined) return undefined;
  try {
    return JSON.parse(utf8.decode(body)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Reads the details request from its headers (`Idrelay-Token`, `Idrelay-Proof`), never from the query: a token in a
 * URL would end up in access logs.
 */
function detailsInput(request: Request, notificationId: string | undefined): ActionRequest | undefined {
  const token = request.headers.get('idrelay-token');
  const proof = request.headers.get('idrelay-proof');
  if (token === null) return undefined;
  return notificationId === undefined ? { token, proof: proof ?? '' } : { token, proof: proof ?? '', notificationId };
}

/**
 * Web-standard handlers `(Request) => Promise<Response>` for the two device endpoints (docs/protocol.md §5): mount
 * `respond` at the URL configured as `actions.respondUrl` (POST, JSON `{ token, proof }`) and `details` at
 * `actions.detailsUrl` (GET, the token in the `Idrelay-Token` header and the proof in `Idrelay-Proof`). Answers are JSON; refusals
 * are RFC 9457 problem documents with idrelay's `code`.
 *
 * @example
 * ```ts
 * const { respond, details } = createActionHandlers(relay);
 * Bun.serve({ fetch: (r) => new URL(r.url).pathname.endsWith('/respond') ? respond(r) : details(r) });
 * ```
 */
export function createActionHandlers(responder: Responder): {
  respond(request: Request): Promise<Response>;
  /** `params.notificationId`: the notification named by the request's path, when the route has one. */
  details(request: Request, params?: { notificationId?: string }): Promise<Response>;
} {
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  const wrongMethod = (allowed: string) => new Response(null, { status: 405, headers: { allow: allowed } });
  return {
    async respond(request) {
      if (request.method !== 'POST') return wrongMethod('POST');
      try {
        return json(await responder.respond((await readJson(request)) as ActionRequest));
      } catch (error) {
        return problemResponse(error);
      }
    },
    async details(request, params) {
      if (request.method !== 'GET') return wrongMethod('GET');
      try {
        return json(await responder.details(detailsInput(request, params?.notificationId) as ActionRequest));
      } catch (error) {
        return problemResponse(error);
      }
    },
  };
}
