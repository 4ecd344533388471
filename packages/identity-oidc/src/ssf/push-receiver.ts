import { createHash, timingSafeEqual } from 'node:crypto';
import { type ErrorCode, IdrelayError, isIdrelayError } from '@idrelay/core';
import { type MapSetOptions, mapSet, type SsfSignal } from './map-set.js';
import { createMemoryReplayGuard, type ReplayGuard } from './replay-window.js';
import { createSetVerifier, type SetVerifierOptions } from './verify-set.js';

/** Options of {@link createSsfPushReceiver}. */
export interface SsfPushReceiverOptions extends SetVerifierOptions, MapSetOptions {
  /**
   * How the transmitter authenticates its POSTs: the exact `Authorization` header value set in the stream's
   * `delivery.authorization_header` (compared in constant time), a function judging the request, or `false` to
   * accept unauthenticated deliveries (the SET signature still protects the content, not the endpoint).
   */
  authorization: string | ((request: Request) => boolean | Promise<boolean>) | false;
  /**
   * Takes each verified SET — mapped to an identity event, or recorded as `not-mapped`, `stream` or `unknown`.
   * The receiver answers 202 only after it resolves; when it throws, the answer is 500 and the `jti` is released
   * so the transmitter's retry is accepted.
   */
  onSignal: (signal: SsfSignal) => Promise<void> | void;
  /** Largest accepted body in bytes; default 65,536. */
  maxBytes?: number;
  /** Where seen `jti`s are kept; default an in-process window ({@link createMemoryReplayGuard}). */
  replay?: ReplayGuard;
}

/** A web-standard request handler. */
export type RequestHandler = (request: Request) => Promise<Response>;

/** RFC 8935 §2.4 error codes, by idrelay error code. */
const SET_ERRORS: Partial<Record<ErrorCode, string>> = {
  ERR_SSF_SET_INVALID: 'invalid_request',
  ERR_SSF_SET_REPLAYED: 'invalid_request',
  ERR_SSF_SET_KEY: 'invalid_key',
  ERR_SSF_SET_ISSUER: 'invalid_issuer',
  ERR_SSF_SET_AUDIENCE: 'invalid_audience',
  ERR_SSF_UNAUTHORIZED: 'authentication_failed',
};

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
  if (typeof options.onSignal !== 'function') throw new TypeError('onSignal must be a function');
  if (options.authorization === undefined) {
    throw new TypeError('authorization must be the expected header value, a function, or false');
  }
  const verify = createSetVerifier(options);
  const maxBytes = options.maxBytes ?? 65_536;
  const now = options.now ?? Date.now;
  const replay = options.replay ?? createMemoryReplayGuard(now);
  const windowMs = (options.maxIatSkewSeconds ?? 300) * 1000;
  const authorize = authorizer(options.authorization);

  return async (request) => {
    if (request.method !== 'POST') {
      return new Response(null, { status: 405, headers: { allow: 'POST' } });
    }
    let claimed: { issuer: string; jti: string } | undefined;
    try {
      if (!(await authorize(request))) {
        throw new IdrelayError('ERR_SSF_UNAUTHORIZED', 'The push delivery is not authorized');
      }
      const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/secevent+jwt') {
        throw new IdrelayError('ERR_SSF_SET_INVALID', 'Content-Type must be application/secevent+jwt (RFC 8935 §2)');
      }
      const compact = await readBody(request, maxBytes);
      const claims = await verify(compact);
      const signal = mapSet(claims, options);
      if (!(await replay.claim(claims.iss, claims.jti, claims.iat * 1000 + windowMs))) {
        throw new IdrelayError('ERR_SSF_SET_REPLAYED', `SET ${claims.jti} was already received`);
      }
      claimed = { issuer: claims.iss, jti: claims.jti };
      await options.onSignal(signal);
      return new Response(null, { status: 202 });
    } catch (error) {
      if (isIdrelayError(error) && SET_ERRORS[error.code] !== undefined && claimed === undefined) {
        const status = error.code === 'ERR_SSF_UNAUTHORIZED' ? 401 : 400;
        return Response.json({ err: SET_ERRORS[error.code], description: error.message }, { status });
      }
      if (claimed !== undefined) await replay.release(claimed.issuer, claimed.jti);
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

async function readBody(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (request.body === null) throw new IdrelayError('ERR_SSF_SET_INVALID', 'The request has no body');
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
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (error) {
    throw new IdrelayError('ERR_SSF_SET_INVALID', 'The body is not UTF-8', { cause: error });
  }
  return text.trim();
}

function tooLarge(maxBytes: number): IdrelayError {
  return new IdrelayError('ERR_SSF_SET_INVALID', `The SET exceeds ${maxBytes} bytes`, { details: { maxBytes } });
}
