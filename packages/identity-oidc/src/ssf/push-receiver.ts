import { createHash, timingSafeEqual } from 'node:crypto';
import { IdrelayError, isIdrelayError } from '@idrelay/core';
import { createSetIntake, type SetIntakeOptions } from './intake.js';
import { SET_ERROR_CODES } from './set-errors.js';

/** Options of {@link createSsfPushReceiver}. */
export interface SsfPushReceiverOptions extends SetIntakeOptions {
  /**
   * How the transmitter authenticates its POSTs: the exact `Authorization` header value set in the stream's
   * `delivery.authorization_header` (compared in constant time), a function judging the request, or `false` to
   * accept unauthenticated deliveries (the SET signature still protects the content, not the endpoint).
   */
  authorization: string | ((request: Request) => boolean | Promise<boolean>) | false;
  /**
   * Takes each verified SET (see {@link SetIntakeOptions.onSignal}). The receiver answers 202 only after it
   * resolves; when it throws, the answer is 500 and the `jti` is released so the transmitter's retry is accepted.
   */
  onSignal: SetIntakeOptions['onSignal'];
  /** Largest accepted body in bytes; default 65,536. */
  maxBytes?: number;
}

/** A web-standard request handler. */
export type RequestHandler = (request: Request) => Promise<Response>;

/**
 * Creates the receiving end of RFC 8935 push delivery as a web-standard handler `(Request) => Promise<Response>`:
 * `POST` with `Content-Type: application/secevent+jwt`, the configured authorization, a body within `maxBytes`,
 * a SET that verifies ({@link createSetVerifier}) and a `jti` not seen in the window. It answers `202 Accepted`
 * with an empty body once `onSignal` took the SET, or `400` (`401` for failed authorization) with
 * `{ "err", "description" }` and the RFC's error code.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8935#section-2
 * @example
 * ```ts
 * const receive = createSsfPushReceiver({
 *   issuer: 'https://tx.example.com',
 *   audience: 'https://rx.example.com',
 *   keys: createRemoteJWKSet(new URL('https://tx.example.com/jwks')),
 *   authorization: `Bearer ${process.env.SSF_PUSH_TOKEN}`,
 *   onSignal: async (signal) => { if (signal.event) await relay.ingest(signal.event); },
 * });
 * ```
 */
export function createSsfPushReceiver(options: SsfPushReceiverOptions): RequestHandler {
  if (options.authorization === undefined) {
    throw new TypeError('authorization must be the expected header value, a function, or false');
  }
  const intake = createSetIntake(options);
  const maxBytes = options.maxBytes ?? 65_536;
  const authorize = authorizer(options.authorization);

  return async (request) => {
    if (request.method !== 'POST') {
      return new Response(null, { status: 405, headers: { allow: 'POST' } });
    }
    try {
      if (!(await authorize(request))) {
        throw new IdrelayError('ERR_SSF_UNAUTHORIZED', 'The push delivery is not authorized');
      }
      const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/secevent+jwt') {
        throw new IdrelayError('ERR_SSF_SET_INVALID', 'Content-Type must be application/secevent+jwt (RFC 8935 §2)');
      }
      const compact = await readBody(request, maxBytes);
      await intake(compact);
      return new Response(null, { status: 202 });
    } catch (error) {
      if (isIdrelayError(error) && SET_ERROR_CODES[error.code] !== undefined) {
        const status = error.code === 'ERR_SSF_UNAUTHORIZED' ? 401 : 400;
        return Response.json({ err: SET_ERROR_CODES[error.code], description: error.message }, { status });
      }
      // The SET was fine; taking it failed. No RFC 8935 code fits, and the transmitter should retry.
      return Response.json({ description: 'The SET could not be taken; retry later' }, { status: 500 });
    }
  };
}

function authorizer(setting: SsfPushReceiverOptions['authorization']): (request: Request) => Promise<boolean> {
  if (setting === false) return async () => true;
  if (typeof setting === 'function') return async (request) => (await setting(request)) === true;
  if (typeof setting !== 'string' || setting.length === 0) {
    throw new TypeError('authorization must be a non-empty header value, a function, or false');
  }
  const expected = createHash('sha256').update(setting).digest();
  return async (request) => {
    const given = request.headers.get('authorization');
    if (given === null) return false;
    // Hashing first makes the comparison constant-time whatever the lengths.
    return timingSafeEqual(createHash('sha256').update(given).digest(), expected);
  };
}

// Stateless for whole inputs, so one decoder serves every request.
const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readBody(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) throw new IdrelayError('ERR_SSF_SET_INVALID', 'The request has no body');
  // With a declared length within bounds, one read is cheaper than a chunk loop; the length is checked again,
  // as a body may be longer than its header says.
  if (Number.isInteger(declared)) {
    const whole = new Uint8Array(await request.arrayBuffer());
    if (whole.byteLength > maxBytes) throw tooLarge(maxBytes);
    return decode(whole);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return decode(Buffer.concat(chunks));
}

function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes).trim();
  } catch (error) {
    throw new IdrelayError('ERR_SSF_SET_INVALID', 'The body is not UTF-8', { cause: error });
  }
}

function tooLarge(maxBytes: number): IdrelayError {
  return new IdrelayError('ERR_SSF_SET_INVALID', `The SET exceeds ${maxBytes} bytes`, { details: { maxBytes } });
}
