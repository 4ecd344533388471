import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { createHttp1Parser, type Http1Response } from './http1-parser.js';
import type { PostOutcome } from './post.js';

/** Options of {@link createHttp1Pool}. */
export interface Http1PoolOptions {
  /** Extra trusted CAs (PEM) for TLS; the system store is used otherwise. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Connections per origin; requests beyond wait for a free one. */
  maxSockets: number;
  /** An idle connection is closed after this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
}

/** Keep-alive HTTP/1.1 connections over TLS, per push-service origin. */
export interface Http1Pool {
  /**
   * Sends `head` + `body` to `url`'s origin and resolves with the answer; never rejects. A function `head` is called
   * once a connection is in hand, so that it can judge the push's remaining lifetime then; when it returns
   * `undefined` nothing is sent and the outcome is `ERR_DELIVERY_EXPIRED`. `timeoutMs` counts from the call, the
   * wait for a free connection included; `high` requests wait ahead of every `normal` one for a connection.
   */
  post(
    url: URL,
    head: string | (() => string | undefined),
    body: Buffer,
    timeoutMs: number,
    signal?: AbortSignal,
    priority?: 'high' | 'normal',
  ): Promise<PostOutcome>;
  /** TLS connections open now, all origins. */
  openSockets(): number;
  /** Destroys every connection; pending requests resolve as network failures. */
  close(): void;
}

interface Pending {
  resolve(outcome: PostOutcome): void;
  parser: ReturnType<typeof createHttp1Parser>;
}
interface Conn {
  socket: TLSSocket;
  origin: Origin;
  pending: Pending | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}
/** A request waiting for a connection; `undefined` means the pool closed meanwhile. */
type Waiter = (conn: Conn | undefined) => void;
interface Origin {
  key: string;
  host: string;
  port: number;
  idle: Conn[];
  all: Set<Conn>;
  /** Requests waiting for a connection, in two lines: `high` ones are served first. */
  high: Waiter[];
  normal: Waiter[];
}

const nextWaiter = (o: Origin): Waiter | undefined => o.high.shift() ?? o.normal.shift();
const CLOSED: PostOutcome = { ok: false, code: 'ERR_TRANSPORT_NETWORK', reason: 'transport closed' };
const ABORTED: PostOutcome = { ok: false, code: 'ERR_TRANSPORT_TIMEOUT', reason: 'aborted by the caller' };
const EXPIRED: PostOutcome = { ok: false, code: 'ERR_DELIVERY_EXPIRED', reason: 'expired before it could be sent' };

const toOutcome = (r: Http1Response): PostOutcome => {
  const location = r.headers.get('location');
  const retryAfter = r.headers.get('retry-after');
  return {
    ok: true,
    status: r.status,
    ...(location === undefined ? {} : { location }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
    body: r.body.length === 0 ? '' : r.body.toString('utf8', 0, Math.min(r.body.length, 1024)),
  };
};

/**
 * A small HTTP/1.1 client on `node:tls` for the one request shape a push sender makes (POST, small answer):
 * bounded keep-alive connections per origin, one request per connection at a time, a deadline per request, and a
 * two-line queue for connections so that a `high` push (a sign-in verification) overtakes a waiting fan-out.
 * It skips `node:https`'s per-request objects (ClientRequest, IncomingMessage, header validation), which cost
 * about as much CPU as the RFC 8291 encryption itself; see decisions/0010-webpush-crypto.md.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112 (HTTP/1.1 messages) and RFC 9112 §9.3 (persistent connections)
 * @example
 * ```ts
 * const pool = createHttp1Pool({ maxSockets: 64 });
 * const outcome = await pool.post(url, `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n…\r\n\r\n`, body, 10_000);
 * ```
 */
export function createHttp1Pool(options: Http1PoolOptions): Http1Pool {
  const origins = new Map<string, Origin>();
  const idleTimeout = options.idleTimeoutMs ?? 30_000;
  let closed = false;

  const drop = (conn: Conn) => {
    const o = conn.origin;
    if (!o.all.delete(conn)) return;
    clearTimeout(conn.idleTimer);
    const i = o.idle.indexOf(conn);
    if (i >= 0) o.idle.splice(i, 1);
    conn.socket.destroy();
    const pending = conn.pending;
    conn.pending = undefined;
    if (pending) {
      const response = pending.parser.end();
      pending.resolve(
        response
          ? toOutcome(response)
          : { ok: false, code: 'ERR_TRANSPORT_NETWORK', reason: 'connection closed before the answer' },
      );
    }
    // A waiter may now open a connection of its own.
    const waiter = nextWaiter(o);
    if (waiter) waiter(closed ? undefined : open(o));
  };

  const release = (conn: Conn) => {
    const o = conn.origin;
    const waiter = nextWaiter(o);
    if (waiter) return waiter(conn);
    o.idle.push(conn);
    conn.idleTimer = setTimeout(() => drop(conn), idleTimeout);
    conn.idleTimer.unref();
  };

  function open(o: Origin): Conn {
    const socket = connect({
      host: o.host,
      port: o.port,
      ...(isIP(o.host) ? {} : { servername: o.host }),
      ALPNProtocols: ['http/1.1'],
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    socket.setNoDelay(true);
    const conn: Conn = { socket, origin: o, pending: undefined, idleTimer: undefined };
    o.all.add(conn);
    socket.on('data', (data: Buffer) => {
      const pending = conn.pending;
      if (!pending) return drop(conn); // bytes nobody asked for: the connection is out of step
      let response: Http1Response | undefined;
      try {
        response = pending.parser.push(data);
      } catch (error) {
        conn.pending = undefined;
        pending.resolve({
          ok: false,
          code: 'ERR_TRANSPORT_NETWORK',
          reason: `bad HTTP response: ${(error as Error).message}`,
        });
        return drop(conn);
      }
      if (!response) return;
      conn.pending = undefined;
      pending.resolve(toOutcome(response));
      if (response.keepAlive && pending.parser.leftover === 0 && !closed) release(conn);
      else drop(conn);
    });
    socket.on('error', () => drop(conn));
    socket.on('close', () => drop(conn));
    socket.on('end', () => drop(conn));
    return conn;
  }

  const acquire = (
    o: Origin,
    priority: 'high' | 'normal',
    signal: AbortSignal | undefined,
  ): Conn | Promise<Conn | undefined> => {
    const idle = o.idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      return idle;
    }
    if (o.all.size < options.maxSockets) return open(o);
    return new Promise((resolve) => {
      const queue = priority === 'high' ? o.high : o.normal;
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        resolve(undefined);
      };
      const waiter: Waiter = (conn) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(conn);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  };

  return {
    async post(url, head, body, timeoutMs, signal, priority = 'normal') {
      if (closed) return CLOSED;
      if (signal?.aborted) return ABORTED;
      const key = url.host;
      let o = origins.get(key);
      if (!o) {
        o = {
          key,
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: Number(url.port || 443),
          idle: [],
          all: new Set(),
          high: [],
          normal: [],
        };
        origins.set(key, o);
      }
      const start = Date.now();
      const conn = await acquire(o, priority, signal);
      if (!conn || closed) return closed || !signal?.aborted ? CLOSED : ABORTED;
      if (signal?.aborted) {
        release(conn);
        return ABORTED;
      }
      const remaining = timeoutMs - (Date.now() - start);
      // Nothing has been written yet, so giving up here leaves the connection in step: hand it on.
      if (remaining <= 0) {
        release(conn);
        return { ok: false, code: 'ERR_TRANSPORT_TIMEOUT', reason: `no connection free within ${timeoutMs} ms` };
      }
      const text = typeof head === 'function' ? head() : head;
      if (text === undefined) {
        release(conn);
        return EXPIRED;
      }
      return new Promise<PostOutcome>((resolve) => {
        const timer = setTimeout(() => {
          if (conn.pending !== pending) return;
          conn.pending = undefined;
          settle({ ok: false, code: 'ERR_TRANSPORT_TIMEOUT', reason: `no answer within ${timeoutMs} ms` });
          drop(conn); // the answer may still come; this connection can no longer be trusted to be in step
        }, remaining);
        const onAbort = () => {
          if (conn.pending !== pending) return;
          conn.pending = undefined;
          settle(ABORTED);
          drop(conn);
        };
        const settle = (outcome: PostOutcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        };
        const pending: Pending = { resolve: settle, parser: createHttp1Parser() };
        conn.pending = pending;
        signal?.addEventListener('abort', onAbort, { once: true });
        conn.socket.cork();
        conn.socket.write(text, 'latin1');
        conn.socket.write(body);
        conn.socket.uncork();
      });
    },
    openSockets: () => {
      let n = 0;
      for (const o of origins.values()) n += o.all.size;
      return n;
    },
    close() {
      closed = true;
      for (const o of origins.values()) {
        for (const waiter of [...o.high.splice(0), ...o.normal.splice(0)]) waiter(undefined);
        for (const conn of [...o.all]) drop(conn);
      }
      origins.clear();
    },
  };
}
