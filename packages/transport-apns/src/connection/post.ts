import { type ClientHttp2Session, constants, type OutgoingHttpHeaders } from 'node:http2';

/** The raw outcome of one APNs request. */
export type PostOutcome =
  | {
      kind: 'response';
      status: number;
      apnsId: string | undefined;
      retryAfter: string | undefined;
      /** The error body, parsed when it is JSON (`{ reason, timestamp }`). */
      body: { reason?: string; timestamp?: number } | undefined;
    }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'network'; error: Error };

/**
 * Sends one request on an open HTTP/2 session and waits for the whole response, for at most `timeoutMs`.
 * Never rejects: timeouts, aborts, resets and GOAWAYs become outcomes, because the caller decides per device.
 *
 * @example
 * ```ts
 * const outcome = await post(session, { ':method': 'POST', ':path': `/3/device/${token}` }, body, 10_000);
 * ```
 */
export function post(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let status = 0;
    let apnsId: string | undefined;
    let retryAfter: string | undefined;
    let chunks: Buffer[] | undefined;
    let stream: ReturnType<ClientHttp2Session['request']>;

    const finish = (outcome: PostOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (signal !== undefined) signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const cancel = (outcome: PostOutcome): void => {
      finish(outcome);
      if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
    };
    const onAbort = (): void => cancel({ kind: 'aborted' });
    const timer = setTimeout(() => cancel({ kind: 'timeout' }), timeoutMs);

    try {
      stream = session.request(headers);
    } catch (error) {
      // The session went away between acquiring the slot and opening the stream.
      finish({ kind: 'network', error: error as Error });
      return;
    }
    if (signal !== undefined) signal.addEventListener('abort', onAbort, { once: true });
    stream.on('response', (h) => {
      status = Number(h[':status']);
      apnsId = h['apns-id'] as string | undefined;
      retryAfter = h['retry-after'] as string | undefined;
    });
    // Only error answers carry a body; a 200 has none, so nothing is allocated on the common path.
    stream.on('data', (chunk: Buffer) => {
      if (chunks === undefined) chunks = [chunk];
      else chunks.push(chunk);
    });
    stream.on('end', () => {
      if (status === 0) {
        finish({ kind: 'network', error: new Error('APNs closed the stream without a response') });
        return;
      }
      finish({
        kind: 'response',
        status,
        apnsId,
        retryAfter,
        body: chunks === undefined ? undefined : parseBody(Buffer.concat(chunks).toString('utf8')),
      });
    });
    stream.on('error', (error) => finish({ kind: 'network', error }));
    stream.on('close', () => {
      finish({ kind: 'network', error: new Error(`APNs reset the stream (HTTP/2 error ${stream.rstCode})`) });
    });
    stream.end(body);
  });
}

function parseBody(text: string): { reason?: string; timestamp?: number } | undefined {
  if (text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as { reason?: unknown; timestamp?: unknown };
    return {
      ...(typeof parsed.reason === 'string' ? { reason: parsed.reason } : {}),
      ...(typeof parsed.timestamp === 'number' ? { timestamp: parsed.timestamp } : {}),
    };
  } catch {
    return undefined;
  }
}
