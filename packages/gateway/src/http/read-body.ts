import { httpError } from './http-errors.js';

/**
 * Reads a request body up to `maxBytes`: refused early by `Content-Length`, else while streaming, so an oversized
 * body is never held in memory whole.
 *
 * A body with a `Content-Length` within the limit is read whole with `arrayBuffer()`: the HTTP server ends the body
 * there (Node's parser reads that many bytes and no more), and `@hono/node-server` reads it straight from the
 * socket's stream instead of building a web `Request` and `ReadableStream` around it. Its size is checked again
 * afterwards, for a `Request` built in process with a header that understates its body. A body without one
 * (chunked) is streamed and counted.
 *
 * @throws {IdrelayError} `ERR_HTTP_BODY_TOO_LARGE`.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    httpError('ERR_HTTP_BODY_TOO_LARGE', `The body is larger than ${maxBytes} bytes`, { limit: maxBytes });
  const length = request.headers.get('content-length');
  const declared = length !== null && /^\d{1,16}$/.test(length) ? Number(length) : Number.NaN;
  if (declared > maxBytes) throw tooLarge();
  if (!Number.isNaN(declared)) {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > maxBytes) throw tooLarge();
    return body;
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
      throw tooLarge();
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

/** The media type of a `Content-Type` header, lowercased, without parameters; `''` when absent. */
export function mediaType(headers: Headers): string {
  return (headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** True for `application/json` and any `application/*+json`. */
export function isJsonType(type: string): boolean {
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a JSON body.
 *
 * @throws {IdrelayError} `ERR_HTTP_MALFORMED_JSON` for invalid UTF-8 or JSON (the parser's position, never the
 *   body, is in the message).
 */
export function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(body)) as unknown;
  } catch (error) {
    const reason =
      error instanceof SyntaxError
        ? error.message.replace(/"[^"]*"/g, '…')
        : error instanceof TypeError
          ? 'invalid UTF-8'
          : 'nested too deeply to parse';
    throw httpError('ERR_HTTP_MALFORMED_JSON', `The body is not valid JSON: ${reason}`);
  }
}
