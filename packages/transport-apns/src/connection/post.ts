import { type ClientHttp2Session, type ClientHttp2Stream, constants, type OutgoingHttpHeaders } from 'node:http2';

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

// One record per request, reached from the stream through a symbol. The handlers below are shared by every request
// instead of being fresh closures each time: at tens of thousands of requests a second, closures are most of the
// garbage a send makes.
interface Pending {
  resolve: (outcome: PostOutcome) => void;
  stream: ClientHttp2Stream | undefined;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
  status: number;
  apnsId: string | undefined;
  retryAfter: string | undefined;
  chunks: Buffer[] | undefined;
}
const PENDING = Symbol('apns.pending');
type TaggedStream = ClientHttp2Stream & { [PENDING]?: Pending };

const TIMEOUT: PostOutcome = { kind: 'timeout' };
const ABORTED: PostOutcome = { kind: 'aborted' };

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
    const pending: Pending = {
      resolve,
      stream: undefined,
      timer: undefined,
      signal,
      onAbort: undefined,
      settled: false,
      status: 0,
      apnsId: undefined,
      retryAfter: undefined,
      chunks: undefined,
    };
    let stream: TaggedStream;
    try {
      stream = session.request(headers);
    } catch (error) {
      // The session went away between acquiring the slot and opening the stream.
      finish(pending, { kind: 'network', error: error as Error });
      return;
    }
    pending.stream = stream;
    stream[PENDING] = pending;
    pending.timer = setTimeout(cancel, timeoutMs, pending, TIMEOUT);
    if (signal !== undefined) {
      pending.onAbort = () => cancel(pending, ABORTED);
      signal.addEventListener('abort', pending.onAbort, { once: true });
    }
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    stream.end(body);
  });
}

function finish(pending: Pending, outcome: PostOutcome): void {
  if (pending.settled) return;
  pending.settled = true;
  clearTimeout(pending.timer);
  if (pending.onAbort !== undefined) pending.signal?.removeEventListener('abort', pending.onAbort);
  pending.resolve(outcome);
}

function cancel(pending: Pending, outcome: PostOutcome): void {
  finish(pending, outcome);
  const stream = pending.stream;
  if (stream !== undefined && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
}

function onResponse(this: TaggedStream, headers: Record<string, unknown>): void {
  const pending = this[PENDING]!;
  pending.status = Number(headers[':status']);
  pending.apnsId = headers['apns-id'] as string | undefined;
  pending.retryAfter = headers['retry-after'] as string | undefined;
}

// Only error answers carry a body; a 200 has none, so nothing is allocated on the common path.
function onData(this: TaggedStream, chunk: Buffer): void {
  const pending = this[PENDING]!;
  if (pending.chunks === undefined) pending.chunks = [chunk];
  else pending.chunks.push(chunk);
}

function onEnd(this: TaggedStream): void {
  const pending = this[PENDING]!;
  if (pending.status === 0) {
    finish(pending, { kind: 'network', error: new Error('APNs closed the stream without a response') });
    return;
  }
  const { chunks } = pending;
  finish(pending, {
    kind: 'response',
    status: pending.status,
    apnsId: pending.apnsId,
    retryAfter: pending.retryAfter,
    body: chunks === undefined ? undefined : parseBody(Buffer.concat(chunks).toString('utf8')),
  });
}

function onError(this: TaggedStream, error: Error): void {
  finish(this[PENDING]!, { kind: 'network', error });
}

function onClose(this: TaggedStream): void {
  const pending = this[PENDING]!;
  if (pending.settled) return;
  finish(pending, { kind: 'network', error: new Error(`APNs reset the stream (HTTP/2 error ${this.rstCode})`) });
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
