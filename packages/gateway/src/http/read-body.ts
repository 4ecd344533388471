import { readBoundedBody } from '@idrelay/engine';
import { httpError } from './http-errors.js';

/**
 * Reads a request body up to `maxBytes` with the engine's {@link readBoundedBody}: refused by `Content-Length` or
 * while streaming, so an oversized body is never held in memory whole.
 *
 * @throws {IdrelayError} `ERR_HTTP_BODY_TOO_LARGE`.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const body = await readBoundedBody(request, maxBytes);
  if (body === undefined) {
    throw httpError('ERR_HTTP_BODY_TOO_LARGE', `The body is larger than ${maxBytes} bytes`, { limit: maxBytes });
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
